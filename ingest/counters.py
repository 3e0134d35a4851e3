"""What ingest did, counted: the numbers an operator checks when readings go missing.

They feed the Prometheus ``/metrics`` endpoint and ``lifesign status``.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

#: monotonically increasing counts, with their help text (also used for /metrics)
COUNTS = {
    "messages_received": "MQTT messages taken from the broker",
    "messages_acked": "MQTT messages acknowledged after their readings were durable",
    "readings_received": "readings that passed validation",
    "readings_stored": "new (meter, ts) points written to the history store or the spool",
    "duplicates": "readings already stored (redelivery, gateway resend) or repeated in a message",
    "late": "new readings older than their meter's newest reading (reordered)",
    "register_resets": "register values below the meter's previous value (rollover, replaced meter)",
    "failed_batches": "batches whose store write or state update failed and were retried",
    "spooled": "readings written to the spool because the history store was unreachable",
    "drained": "readings moved from the spool into the history store",
    "replayed": "readings written to the history store again from the durability window after an outage",
    "dead_letters_sent": "dead-letter reports published (one per refused message)",
    "dead_letters_suppressed": "dead-letter reports withheld by the per-gateway rate limit (still counted in rejected)",
    "broker_disconnects": "times the broker connection was lost or refused",
}
#: values that go up and down
GAUGES = {
    "pending_messages": "messages received and not yet processed",
    "pending_max": "the most messages that were ever waiting at once (never above the cap)",
    "broker_connected": "1 while connected to the broker (CONNACK accepted), else 0",
    "spool_readings": "readings waiting in the spool",
    "spool_bytes": "bytes the spool takes on disk",
    "newest_reading_ts": "event time of the newest reading stored (epoch seconds)",
    "store_up": "1 when the last write to the history store succeeded, else 0",
}


class IngestCounters:
    """Thread-safe counters; the MQTT thread, the worker and the metrics server all touch them.

    >>> c = IngestCounters()
    >>> c.add(messages_received=2, readings_stored=5); c.reject("unknown_meter", 2)
    >>> c.snapshot()["rejected"], c.readings_stored
    ({'unknown_meter': 2}, 5)
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(COUNTS, 0)
        self._gauges: dict[str, float] = dict.fromkeys(GAUGES, 0.0)
        self._gauges["store_up"] = 1.0
        self._rejected: dict[str, int] = {}

    def __getattr__(self, name: str) -> int:
        counts = self.__dict__.get("_counts")
        if counts is not None and name in counts:
            return int(counts[name])
        raise AttributeError(name)

    def add(self, **counts: int) -> None:
        with self._lock:
            for name, n in counts.items():
                if name not in self._counts:
                    raise KeyError(f"no ingest counter named {name!r}")
                self._counts[name] += n

    def set(self, **gauges: float) -> None:
        with self._lock:
            for name, value in gauges.items():
                if name not in self._gauges:
                    raise KeyError(f"no ingest gauge named {name!r}")
                self._gauges[name] = float(value)

    def raise_to(self, **gauges: float) -> None:
        """Set gauges that only grow (a newest time): a smaller value leaves them as they are."""
        with self._lock:
            for name, value in gauges.items():
                if name not in self._gauges:
                    raise KeyError(f"no ingest gauge named {name!r}")
                self._gauges[name] = max(self._gauges[name], float(value))

    def reject(self, reason: str, n: int = 1) -> None:
        with self._lock:
            self._rejected[reason] = self._rejected.get(reason, 0) + n

    def reject_many(self, by_reason: Mapping[str, int]) -> None:
        with self._lock:
            for reason, n in by_reason.items():
                self._rejected[reason] = self._rejected.get(reason, 0) + n

    @property
    def rejected(self) -> dict[str, int]:
        with self._lock:
            return dict(self._rejected)

    def snapshot(self) -> dict[str, object]:
        """A consistent copy: every count, every gauge, and the rejections by reason."""
        with self._lock:
            return {**self._counts, **self._gauges, "rejected": dict(self._rejected)}
