"""`lifesign run`: the service against an external broker until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from app.site import SiteConfig
from lifesign.clock import WallClock


def register(sub: Any) -> None:
    run = sub.add_parser("run", help="run the service against an external broker until stopped")
    run.add_argument("-c", "--config", type=Path, required=True)
    run.set_defaults(handler=_run, log_level="INFO")


def _run(args: argparse.Namespace) -> int:
    from app.broker_wait import broker_address, wait_for_broker
    from app.service import Service, ServiceParts

    say = args.say

    # Every file the service makes is its own alone (0600, folders 0700): they hold
    # residents' names, phones, addresses and the rhythm of their days.
    os.umask(0o077)
    site = SiteConfig.load(args.config)
    parts = ServiceParts.from_site(site)  # a bad registry or roster fails now, not after the broker wait
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    if not wait_for_broker(site.broker, stop, sys.stdout, say):
        print(say("run.stopped_early"), flush=True)
        return 0
    service = Service(parts, WallClock())
    try:
        service.start()
        if service.web is not None:
            print(say("run.desk", url=service.web.url), flush=True)
        print(say("run.running", address=broker_address(site.broker)), flush=True)
        stop.wait()
    finally:
        service.stop()
        print(say("run.stopped"), flush=True)
    return 0
