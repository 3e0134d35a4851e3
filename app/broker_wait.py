"""Wait for the broker at start: a service started before its broker (boot order, a
broker restarting) retries with backoff and says where it is knocking, instead of
exiting on ``[Errno 111] Connection refused``."""

from __future__ import annotations

import socket
import threading
from typing import TextIO

from lifesign.mqttclient import BrokerSettings
from lifesign.retry import Backoff

#: 1 s, 2 s, 4 s ... then every 30 s: quick when the broker is just starting, quiet when it is long gone
BROKER_BACKOFF = Backoff(base_s=1.0, max_s=30.0)


def broker_address(broker: BrokerSettings) -> str:
    return f"{broker.host}:{broker.port}"


def wait_for_broker(broker: BrokerSettings, stop: threading.Event, out: TextIO,
                    backoff: Backoff = BROKER_BACKOFF, probe_timeout_s: float = 5.0) -> bool:
    """Block until the broker accepts a TCP connection (True) or ``stop`` is set (False)."""
    failures = 0
    while not stop.is_set():
        try:
            with socket.create_connection((broker.host, broker.port), timeout=probe_timeout_s):
                if failures:
                    print(f"broker {broker_address(broker)} is reachable now", file=out, flush=True)
                return True
        except OSError as exc:
            failures += 1
            delay = backoff.delay(failures)
            print(f"broker {broker_address(broker)} not reachable ({_reason(exc)}); "
                  f"retrying in {delay:g} s (attempt {failures}). Is the broker running, "
                  f"and are site.yaml's broker host and port right?", file=out, flush=True)
            stop.wait(delay)
    return False


def _reason(exc: OSError) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused: nothing listens there"
    if isinstance(exc, socket.gaierror):
        return f"unknown host: {exc.strerror}"
    if isinstance(exc, TimeoutError):
        return "no answer: a firewall, or the wrong host"
    return exc.strerror or str(exc)
