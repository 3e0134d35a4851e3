"""`lifesign status`: what ingest has done, from the service's status.json; with
partitions, who holds which partition (the leases in PostgreSQL)."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from app.commands.common import add_data_dir_options, clock_time, data_dir, when
from app.messages import Complaint, Messages
from app.site import SiteConfig


def register(sub: Any) -> None:
    status = sub.add_parser("status", help="ingest counters: received, stored, duplicates, rejected, broker, spool, "
                                           "lag; who holds which partition; exits 1 while the store or the broker "
                                           "is away or a partition has no holder")
    add_data_dir_options(status)
    status.add_argument("--json", action="store_true", help="print the raw status document")
    status.set_defaults(handler=_status)


def _status(args: argparse.Namespace) -> int:
    from app.ingest_wiring import STATUS_FILE

    say: Messages = args.say
    unheld = _partitions(SiteConfig.load(args.config), say) if args.config is not None and not args.json else None
    path = data_dir(args) / STATUS_FILE
    if not path.exists():
        if unheld is not None:  # the leases were what there was to see
            return 1 if unheld else 0
        raise Complaint("status.missing", folder=path.parent, path=path)
    doc = json.loads(path.read_text())
    if args.json:
        print(json.dumps(doc, indent=1, sort_keys=True))
        return 0
    if "standby" in doc:
        standby = doc["standby"]
        print(say("status.standby", holder=standby["holder"], partition=standby["partition"],
                  since=when(standby["since"])))
        return 1 if unheld else 0
    ingest = doc["ingest"]
    age = time.time() - path.stat().st_mtime
    lag = doc["at"] - ingest["newest_reading_ts"] if ingest["newest_reading_ts"] else None
    print(say("status.header", age=age, at=when(doc["at"]), households=doc["households"], meters=doc["meters"],
              history=doc["history"]))
    if "partition" in doc:
        held = doc["partition"]
        print(say("status.holding", partition=held["name"], holder=held["holder"], epoch=held["epoch"]))
    print(say("status.messages", received=ingest["messages_received"], acked=ingest["messages_acked"],
              pending=int(ingest["pending_messages"])))
    print(say("status.readings", received=ingest["readings_received"], stored=ingest["readings_stored"],
              duplicates=ingest["duplicates"], late=ingest["late"], resets=ingest["register_resets"]))
    rejected = ingest["rejected"]
    detail = ", ".join(f"{reason} {n:,}" for reason, n in sorted(rejected.items())) or say("status.rejected_none")
    print(say("status.rejected", total=sum(rejected.values()), detail=detail))
    connected = "status.broker_up" if ingest.get("broker_connected") else "status.broker_down"
    print(say("status.broker", state=say(connected),
              disconnects=ingest.get("broker_disconnects", 0), sent=ingest.get("dead_letters_sent", 0),
              withheld=ingest.get("dead_letters_suppressed", 0)))
    print(say("status.store", state=say("status.store_up" if ingest["store_up"] else "status.store_down"),
              spool=int(ingest["spool_readings"]), megabytes=ingest["spool_bytes"] / 1e6, spooled=ingest["spooled"],
              drained=ingest["drained"]))
    print(say("status.newest", at=when(ingest["newest_reading_ts"] or None))
          + (say("status.lag", lag=lag) if lag is not None else ""))
    return 0 if ingest["store_up"] and ingest.get("broker_connected", 1) and not unheld else 1


def _partitions(site: SiteConfig, say: Messages) -> list[str] | None:
    """Print who holds which partition (the leases in PostgreSQL); the partitions nobody
    holds. None for a site without partitions."""
    if not site.partitions:
        return None
    from app.leases import PartitionLeases

    leases = PartitionLeases(site.orders.dsn)
    try:
        records = {r.partition: r for r in leases.all()}
    finally:
        leases.close()
    print(say("status.partitions"))
    unheld = []
    for name, partition in site.partitions.items():
        record = records.get(name)
        if record is not None and record.held:
            state = say("status.partition_held", holder=record.holder, since=clock_time(record.acquired_at),
                        until=clock_time(record.deadline), left=record.remaining_s, epoch=record.epoch)
        else:
            unheld.append(name)
            state = (say("status.partition_never") if record is None or not record.holder else
                     say("status.partition_lapsed", holder=record.holder, ago=-record.remaining_s))
        print(say("status.partition", name=name, state=state, communities=", ".join(partition.communities),
                  lease=partition.lease_s))
    return unheld
