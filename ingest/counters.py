"""What ingest did, counted: the numbers an operator checks when readings go missing."""

from __future__ import annotations

import threading
from collections.abc import Mapping


class IngestCounters:
    """Thread-safe counters; the MQTT thread, the worker and the CLI all touch them.

    >>> c = IngestCounters()
    >>> c.add(messages_received=2, readings_stored=5); c.reject("unknown_meter", 2)
    >>> c.snapshot()["rejected"]
    {'unknown_meter': 2}
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.messages_received = 0
        #: readings that became new points in the history store
        self.readings_stored = 0
        #: readings written again (a redelivery, a gateway resending): already stored
        self.duplicates = 0
        self.messages_acked = 0
        #: batches whose store write or sink failed; their messages were not acked
        self.failed_batches = 0
        self._rejected: dict[str, int] = {}

    def add(
        self,
        *,
        messages_received: int = 0,
        readings_stored: int = 0,
        duplicates: int = 0,
        messages_acked: int = 0,
        failed_batches: int = 0,
    ) -> None:
        with self._lock:
            self.messages_received += messages_received
            self.readings_stored += readings_stored
            self.duplicates += duplicates
            self.messages_acked += messages_acked
            self.failed_batches += failed_batches

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

    def snapshot(self) -> dict[str, int | dict[str, int]]:
        """A consistent copy of every counter (the rejected counts as a dict by reason)."""
        with self._lock:
            return {
                "messages_received": self.messages_received,
                "readings_stored": self.readings_stored,
                "duplicates": self.duplicates,
                "messages_acked": self.messages_acked,
                "failed_batches": self.failed_batches,
                "rejected": dict(self._rejected),
            }
