"""Wait for the broker at start: a service started before its broker (boot order, a
broker restarting) retries with backoff and says where it is knocking, instead of
exiting on ``[Errno 111] Connection refused``."""

from __future__ import annotations

import socket
import threading
from typing import TextIO

from app.messages import Messages
from lifesign.mqttclient import BrokerSettings
from lifesign.retry import Backoff

#: 1 s, 2 s, 4 s ... then every 30 s: quick when the broker is just starting, quiet when it is long gone
BROKER_BACKOFF = Backoff(base_s=1.0, max_s=30.0)


def broker_address(broker: BrokerSettings) -> str:
    return f"{broker.host}:{broker.port}"


def wait_for_broker(broker: BrokerSettings, stop: threading.Event, out: TextIO, say: Messages | None = None,
                    backoff: Backoff = BROKER_BACKOFF, probe_timeout_s: float = 5.0) -> bool:
    """Block until the broker accepts a TCP connection (True) or ``stop`` is set (False),
    saying on ``out`` (in the site's language) where it knocks and when it tries again."""
    say = say or Messages()
    failures = 0
    while not stop.is_set():
        try:
            with socket.create_connection((broker.host, broker.port), timeout=probe_timeout_s):
                if failures:
                    print(say("broker.reachable", address=broker_address(broker)), file=out, flush=True)
                return True
        except OSError as exc:
            failures += 1
            delay = backoff.delay(failures)
            print(say("broker.retry", address=broker_address(broker), reason=_reason(exc, say), delay=delay,
                      attempt=failures), file=out, flush=True)
            stop.wait(delay)
    return False


def _reason(exc: OSError, say: Messages) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return say("broker.refused")
    if isinstance(exc, socket.gaierror):
        return say("broker.unknown_host", detail=exc.strerror)
    if isinstance(exc, TimeoutError):
        return say("broker.no_answer")
    return exc.strerror or str(exc)
