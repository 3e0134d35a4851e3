"""An MQTT broker inside the process, for demos and tests.

amqtt is a pure-Python broker (about 3k msg/s here): enough for a demo on a laptop
with no mosquitto installed, never for production, where mosquitto or an MQTT
cluster serves (see configs/mosquitto.conf). It runs in its own thread with its
own asyncio loop, so the synchronous service and tests can start and stop it.

Known limits of amqtt 0.12, checked with paho (tests/ingest/test_embedded_broker.py):
QoS 1 and persistent sessions work (messages published while a ``clean_session=False``
client is away are queued for it), but a QoS 1 message the client has not acked
when it disconnects, or within 5 s, is dropped instead of being sent again. The
ingestor acks only after the durable write, so on this broker a crash between
receipt and ack loses those messages; mosquitto resends them.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from amqtt.broker import Broker
from amqtt.plugins.base import BaseAuthPlugin
from amqtt.session import Session

log = logging.getLogger(__name__)

#: amqtt logs every packet and connection at INFO/DEBUG; a demo's console is for work orders.
_AMQTT_LOG_LEVEL = logging.WARNING


class OpenAuthPlugin(BaseAuthPlugin):
    """Let every client in, with or without a username, as a real session.

    amqtt's own AnonymousAuthPlugin marks such sessions anonymous, and amqtt then
    neither queues QoS 1 messages for them while they are offline nor keeps their
    session: the ingestor's persistent session (``clean_session=False``) would be
    silently lost across a restart.
    """

    @dataclass
    class Config:
        pass

    async def authenticate(self, *, session: Session) -> bool:
        return True


class _ProbeNoiseFilter(logging.Filter):
    """A bare TCP connect (our readiness probe, a health check) is not a broker error."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (
            "No data" in message
            and ("No data from" in message or "Failed to initialize" in message)
        )


_probe_noise = _ProbeNoiseFilter()


class EmbeddedBrokerError(RuntimeError):
    """The embedded broker could not start or stop."""


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


class EmbeddedBroker:
    """amqtt on ``host:port`` (port 0 picks a free one), anonymous, TCP only.

    >>> with EmbeddedBroker() as broker:  # doctest: +SKIP
    ...     broker.port > 0
    True
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self._port = port if port else _free_port(host)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stopped: asyncio.Event | None = None
        self._failure: BaseException | None = None
        self._broker: Broker | None = None

    @property
    def port(self) -> int:
        return self._port

    def session_state(self, client_id: str) -> str | None:
        """The broker's state of a client's session: "connected", "disconnected" (kept for
        a persistent client), or None when it has none.

        A client's DISCONNECT is handled asynchronously: until the state reads
        "disconnected", a message for that client goes to the closing connection and,
        unacked, is lost (amqtt 0.12) instead of queued for the client's return.
        """
        broker = self._broker
        entry = broker.sessions.get(client_id) if broker is not None else None
        return None if entry is None else str(entry[0].transitions.state)

    def _config(self) -> dict[str, Any]:
        return {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self._port}"}},
            # Only open auth: no $SYS topics, no packet/event loggers, no websockets.
            "plugins": {f"{__name__}.OpenAuthPlugin": {}},
        }

    def start(self, timeout: float = 10.0) -> Self:
        """Start the broker thread; return once the port accepts TCP connections."""
        if self._thread is not None:
            raise EmbeddedBrokerError(f"embedded broker on port {self._port} is already started")
        for name in ("amqtt", "transitions"):
            logging.getLogger(name).setLevel(_AMQTT_LOG_LEVEL)
        broker_log = logging.getLogger("amqtt.broker")
        if _probe_noise not in broker_log.filters:
            broker_log.addFilter(_probe_noise)
        self._thread = threading.Thread(target=self._run, name=f"amqtt-{self._port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._failure is not None:
                self._thread.join(timeout)
                self._thread = None
                raise EmbeddedBrokerError(
                    f"embedded broker could not listen on {self.host}:{self._port}: {self._failure}"
                ) from self._failure
            if self._ready.is_set() and _accepts(self.host, self._port):
                return self
            time.sleep(0.02)
        self.stop()
        raise EmbeddedBrokerError(
            f"embedded broker did not accept connections on {self.host}:{self._port} within {timeout} s"
        )

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except Exception as exc:  # reported to start(); the thread must not die silently
            self._failure = exc
            log.warning(
                "embedded broker on port %s stopped with an error", self._port, exc_info=True
            )
        finally:
            loop.close()

    async def _serve(self) -> None:
        self._stopped = asyncio.Event()
        broker = Broker(self._config())
        await broker.start()
        self._broker = broker
        self._ready.set()
        try:
            await self._stopped.wait()
        finally:
            self._broker = None
            await broker.shutdown()

    def stop(self, timeout: float = 10.0) -> None:
        """Shut the broker down cleanly and join its thread (idempotent)."""
        thread, loop, stopped = self._thread, self._loop, self._stopped
        if thread is None:
            return
        if loop is not None and stopped is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(stopped.set)
            except RuntimeError:  # the loop closed between the check and the call
                pass
        thread.join(timeout)
        if thread.is_alive():
            raise EmbeddedBrokerError(
                f"embedded broker on port {self._port} did not stop within {timeout} s"
            )
        self._thread = None
        self._loop = None
        self._stopped = None
        self._ready.clear()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
