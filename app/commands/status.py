"""`lifesign status`: what ingest has done, from the service's status.json."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from app.commands.common import add_data_dir_options, data_dir, when


def register(sub: Any) -> None:
    status = sub.add_parser("status", help="ingest counters: received, stored, duplicates, rejected, broker, spool, "
                                           "lag; exits 1 while the store or the broker is away")
    add_data_dir_options(status)
    status.add_argument("--json", action="store_true", help="print the raw status document")
    status.set_defaults(handler=_status)


def _status(args: argparse.Namespace) -> int:
    from app.ingest_wiring import STATUS_FILE

    path = data_dir(args) / STATUS_FILE
    if not path.exists():
        raise LookupError(f"No status in {path.parent} (expected {path}; is `lifesign run` running there?)")
    doc = json.loads(path.read_text())
    if args.json:
        print(json.dumps(doc, indent=1, sort_keys=True))
        return 0
    ingest = doc["ingest"]
    age = time.time() - path.stat().st_mtime
    lag = doc["at"] - ingest["newest_reading_ts"] if ingest["newest_reading_ts"] else None
    print(f"status written {age:.0f} s ago (service clock {when(doc['at'])}); "
          f"{doc['households']} households, {doc['meters']} meters, history: {doc['history']}")
    print(f"  messages   received {ingest['messages_received']:>12,}  acked {ingest['messages_acked']:>12,}  "
          f"pending {int(ingest['pending_messages']):,}")
    print(f"  readings   received {ingest['readings_received']:>12,}  stored {ingest['readings_stored']:>11,}  "
          f"duplicates {ingest['duplicates']:,}  late {ingest['late']:,}  register resets {ingest['register_resets']:,}")
    rejected = ingest["rejected"]
    total = sum(rejected.values())
    detail = ", ".join(f"{reason} {n:,}" for reason, n in sorted(rejected.items())) or "none"
    print(f"  rejected   {total:,} ({detail})")
    broker = "connected" if ingest.get("broker_connected") else "DISCONNECTED"
    print(f"  broker     {broker}; lost or refused {ingest.get('broker_disconnects', 0):,} times; dead-letter reports "
          f"sent {ingest.get('dead_letters_sent', 0):,}, withheld {ingest.get('dead_letters_suppressed', 0):,}")
    store = "up" if ingest["store_up"] else "UNREACHABLE"
    print(f"  store      {store}; spool {int(ingest['spool_readings']):,} readings "
          f"({ingest['spool_bytes'] / 1e6:.1f} MB); spooled {ingest['spooled']:,}, drained {ingest['drained']:,}")
    print(f"  newest reading {when(ingest['newest_reading_ts'] or None)}"
          + (f" ({lag:.0f} s behind the service clock)" if lag is not None else ""))
    return 0 if ingest["store_up"] and ingest.get("broker_connected", 1) else 1
