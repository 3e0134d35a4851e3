"""Making a batch durable before its messages are acked: into the history store, or
into the on-disk spool while the store is unreachable, and the spool drained back
into the store, file by file, once it answers again (probing with backoff).

Times here are wall seconds on the monotonic clock: they pace retries against a
server, they are not event time.
"""

from __future__ import annotations

import logging
import time

from ingest.counters import IngestCounters
from ingest.spool import Spool, SpoolFull
from lifesign.readings import ReadingBatch
from lifesign.stores import HistoryStore

log = logging.getLogger("ingest.subscriber")

#: first wait before probing a store that failed, doubling up to the max
RETRY_BASE_S = 0.2
#: how often a spool backlog probes the store, at most
DRAIN_RETRY_MAX_S = 5.0


class Keeper:
    """Owns the store and the spool for the ingest worker (one thread calls it)."""

    def __init__(self, store: HistoryStore, spool: Spool | None, counters: IngestCounters, *,
                 store_up: bool = True) -> None:
        self.store = store
        self.spool = spool
        self.counters = counters
        self.store_up = store_up
        self._drain_at = 0.0
        self._drain_backoff = RETRY_BASE_S
        counters.set(store_up=int(store_up))

    def drain_wait(self) -> float | None:
        """Seconds until the next drain attempt is due; None when nothing waits."""
        if self.spool is None or len(self.spool) == 0:
            return None
        return max(0.0, self._drain_at - time.monotonic())

    def drain_some(self) -> None:
        """Move one spool file into the store, if the store answers."""
        spool = self.spool
        if spool is None or len(spool) == 0 or time.monotonic() < self._drain_at:
            return
        try:
            moved = spool.drain_one(self.store)
        except OSError as exc:
            self._store_down(exc)
            return
        self._store_back()
        self.counters.add(drained=moved)
        self.counters.set(spool_readings=len(spool), spool_bytes=spool.bytes)
        if len(spool) == 0:
            log.info("spool drained: the history store has every reading again")

    def keep(self, batch: ReadingBatch) -> None:
        """Make the batch durable: in the store, or in the spool while the store is down.
        Raises when neither took it (no spool, or a full one and the store still down):
        the caller acks nothing and retries."""
        if len(batch) == 0:
            return
        spool = self.spool
        if spool is None:
            self.store.write(batch)  # an error here means: retry, ack nothing
            return
        if self.store_up:
            try:
                self.store.write(batch)
                return
            except OSError as exc:
                self._store_down(exc)
        try:
            spool.append(batch)
        except SpoolFull:
            self._drain_at = 0.0  # make room if the store is back; else back-pressure
            self.drain_some()
            spool.append(batch)
        self.counters.add(spooled=len(batch))
        self.counters.set(spool_readings=len(spool), spool_bytes=spool.bytes)

    def _store_back(self) -> None:
        if not self.store_up:
            log.info("history store answers again")
        self.store_up = True
        self._drain_backoff = RETRY_BASE_S
        self.counters.set(store_up=1)

    def _store_down(self, exc: OSError) -> None:
        if self.store_up:
            log.error("history store unreachable (%s); spooling to disk", exc)
        self.store_up = False
        self.counters.set(store_up=0)
        self._drain_at = time.monotonic() + self._drain_backoff
        self._drain_backoff = min(DRAIN_RETRY_MAX_S, self._drain_backoff * 2)
