"""Making a batch durable before its messages are acked: into the history store, or
into the on-disk spool while the store is unreachable, and the spool drained back
into the store, file by file, once it answers again (probing with backoff). For a
store that answers before its data is on disk, the :class:`DurabilityWindow` keeps
what it took recently and writes it again after an outage, before anything else.

Times here are wall seconds on the monotonic clock: they pace retries against a
server, they are not event time.
"""

from __future__ import annotations

import logging
import time

from ingest.counters import IngestCounters
from ingest.spool import Spool, SpoolFull
from ingest.window import DurabilityWindow
from lifesign.readings import ReadingBatch
from lifesign.retry import Backoff
from lifesign.stores import HistoryStore

log = logging.getLogger("ingest.subscriber")

#: how often a spool backlog probes a store that is down (wall seconds)
DRAIN_RETRY = Backoff(base_s=0.2, max_s=5.0)


class Keeper:
    """Owns the store and the spool for the ingest worker (one thread calls it)."""

    def __init__(self, store: HistoryStore, spool: Spool | None, counters: IngestCounters, *,
                 store_up: bool = True, window: DurabilityWindow | None = None) -> None:
        self.store = store
        self.spool = spool
        self.window = window
        self.counters = counters
        self.store_up = store_up
        self._drain_at = 0.0
        #: consecutive failed probes of the store
        self._drain_failures = 0
        counters.set(store_up=int(store_up))

    def _owed(self) -> bool:
        """Work for the store beyond new batches: a spool backlog or a window to replay."""
        return bool(self.spool is not None and len(self.spool)) or bool(self.window and self.window.needs_replay)

    def drain_wait(self) -> float | None:
        """Seconds until the next drain attempt is due; None when nothing waits."""
        if not self._owed():
            return None
        return max(0.0, self._drain_at - time.monotonic())

    def drain_some(self) -> None:
        """Replay the window if owed, then move one spool file into the store, if the store answers."""
        if not self._owed() or time.monotonic() < self._drain_at:
            return
        spool = self.spool
        try:
            self._write(ReadingBatch.empty())  # the window's replay, if owed
            moved = spool.drain_one(self.store) if spool is not None and len(spool) else ReadingBatch.empty()
        except OSError as exc:
            self._store_down(exc)
            return
        self._store_back()
        if self.window is not None:
            self.window.record(moved)
        if spool is None or not len(moved):
            return
        self.counters.add(drained=len(moved))
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
            self._write(batch)  # an error here means: retry, ack nothing
            return
        if self.store_up:
            try:
                self._write(batch)
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

    def _write(self, batch: ReadingBatch) -> None:
        """Into the store, after the window's replay if one is owed; then into the window."""
        window = self.window
        try:
            if window is not None and window.needs_replay:
                replayed = window.replay(self.store)
                self.counters.add(replayed=replayed)
                if replayed:
                    log.info("wrote the last %.0f s of acknowledged readings (%d) to the history store again",
                             window.window_s, replayed)
            self.store.write(batch)
        except OSError:
            if window is not None:
                window.needs_replay = True  # it may have lost what it had not flushed
            raise
        if window is not None:
            window.record(batch)

    def mark_down(self, exc: OSError) -> None:
        """The store did not answer at start: spool from the first batch on."""
        self._store_down(exc)

    def _store_back(self) -> None:
        if not self.store_up:
            log.info("history store answers again")
        self.store_up = True
        self._drain_failures = 0
        self.counters.set(store_up=1)

    def _store_down(self, exc: OSError) -> None:
        if self.window is not None:
            self.window.needs_replay = True
        if self.store_up:
            log.error("history store unreachable (%s); spooling to disk", exc)
        self.store_up = False
        self.counters.set(store_up=0)
        self._drain_failures += 1
        self._drain_at = time.monotonic() + DRAIN_RETRY.delay(self._drain_failures)
