"""`lifesign run`: the service against an external broker until SIGTERM/SIGINT.

With ``--partition NAME`` (site.yaml ``partitions:``) it watches that partition's
communities while it holds the partition's lease, and stands by while another instance
holds it (:mod:`app.standby`): start a second one, on another machine, as the standby.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.messages import Messages
from app.site import SiteConfig
from lifesign.clock import WallClock

if TYPE_CHECKING:
    from app.service import Service


def register(sub: Any) -> None:
    run = sub.add_parser("run", help="run the service against an external broker until stopped")
    run.add_argument("-c", "--config", type=Path, required=True)
    run.add_argument("--partition", metavar="NAME", default=None,
                     help="the site.yaml partition this instance watches (its lease held, or waited for)")
    run.add_argument("--data-dir", type=Path, default=None,
                     help="this instance's data directory instead of site.yaml's data_dir (two instances on "
                          "one host)")
    run.set_defaults(handler=_run, log_level="INFO")


def _run(args: argparse.Namespace) -> int:
    from app.broker_wait import wait_for_broker
    from app.service import Service, ServiceParts

    say: Messages = args.say
    # Every file the service makes is its own alone (0600, folders 0700): they hold
    # residents' names, phones, addresses and the rhythm of their days.
    os.umask(0o077)
    site = SiteConfig.load(args.config)
    if args.data_dir is not None:
        site = replace(site, data_dir=args.data_dir.resolve())
    # a bad registry, roster or partition fails now, not after the broker wait
    parts = ServiceParts.from_site(site, args.partition)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    if not wait_for_broker(site.broker, stop, sys.stdout, say):
        print(say("run.stopped_early"), flush=True)
        return 0
    if parts.partition is not None:
        from app.leases import PartitionLeases, holder_name
        from app.standby import Standby

        leases = PartitionLeases(site.orders.dsn)
        try:
            standby = Standby(leases, parts.partition, holder_name(), parts.data_dir, sys.stdout, say,
                              make_service=lambda: Service(parts, WallClock()),
                              on_running=lambda service: _announce(service, say))
            return standby.run(stop)
        finally:
            leases.close()
            print(say("run.stopped"), flush=True)
    service = Service(parts, WallClock())
    try:
        service.start()
        _announce(service, say)
        stop.wait()
    finally:
        service.stop()
        print(say("run.stopped"), flush=True)
    return 0


def _announce(service: Service, say: Messages) -> None:
    from app.broker_wait import broker_address

    if service.web is not None:
        print(say("run.desk", url=service.web.url), flush=True)
    address = broker_address(service.parts.broker)
    partition = service.parts.partition
    if partition is None:
        print(say("run.running", address=address), flush=True)
    else:
        print(say("run.running_partition", partition=partition.name,
                  households=service.parts.registry.n_households, address=address), flush=True)
