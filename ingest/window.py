"""The durability window: readings a history server acknowledged but may not have on
disk yet, kept in a local journal and written again when the server comes back.

VictoriaMetrics answers a write once the samples are in memory and puts them on
disk every ``-inmemoryDataFlushInterval`` (5 s by default): killed in between, it
loses readings we have already acked to the broker. So every batch the server takes
also goes into this journal (the spool's file format, one ``write`` per batch), and
journal files older than the window are deleted while the server stays up. After
an outage, or at start (the server may have restarted while we were away), the
whole journal is written again before anything else: duplicates are harmless, the
server keeps one point per (meter, ts) for reads. The window must be longer than
the server's flush interval (default 30 s against VictoriaMetrics' 5 s).

Times are wall seconds on the monotonic clock (how long the server had to flush),
not event time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from ingest.spool import Spool, SpoolFull
from lifesign.readings import ReadingBatch
from lifesign.stores import HistoryStore

log = logging.getLogger("ingest.subscriber")

#: the journal is cut into this many files per window, so old readings go file by file
_FILES_PER_WINDOW = 4


class DurabilityWindow:
    def __init__(self, folder: Path, meter_ids: Sequence[str], window_s: float, max_bytes: int,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        if window_s <= 0:
            raise ValueError(f"durability window must be > 0 s, got {window_s}")
        self.window_s = window_s
        self._journal = Spool(folder, meter_ids, max_bytes)
        self._monotonic = monotonic
        now = monotonic()
        #: when each journal file (oldest first) was last written: files from before a
        #: restart count from now, and are all replayed first
        self._written = [now] * self._journal.files
        self.needs_replay = self._journal.files > 0

    def __len__(self) -> int:
        return len(self._journal)

    def record(self, batch: ReadingBatch) -> None:
        """Keep a batch the server just acknowledged; forget what is older than the window."""
        if len(batch) == 0:
            return
        now = self._monotonic()
        self._forget_older_than(now - self.window_s)
        if not self._written or now - self._written[-1] > self.window_s / _FILES_PER_WINDOW:
            self._journal.rotate()
        files = self._journal.files
        try:
            self._journal.append(batch)
        except SpoolFull:
            # Rather than stop ingest, keep a shorter window, and say so.
            log.warning("durability window journal is full: dropping its oldest readings early")
            if self._journal.files > 1:
                self._journal.drop_oldest()
                self._written.pop(0)
                files -= 1
            self._journal.append(batch)
        if self._journal.files > files:
            self._written.append(now)
        else:
            self._written[-1] = now

    def _forget_older_than(self, cutoff: float) -> None:
        # never while a replay is owed: those readings may be all the server will get
        while not self.needs_replay and self._written and self._written[0] < cutoff:
            self._journal.drop_oldest()
            self._written.pop(0)

    def read(self) -> ReadingBatch:
        """Everything in the window (for rebuilding state while the server is down)."""
        return self._journal.read()

    def replay(self, store: HistoryStore) -> int:
        """Write the whole window to the store again; returns readings written. Raises
        what the store raises. The replayed readings start a new window of their own:
        the server holds them in memory again."""
        batch = self._journal.read()
        store.write(batch)
        now = self._monotonic()
        self._written = [now] * self._journal.files
        self.needs_replay = False
        return len(batch)

    def close(self) -> None:
        self._journal.close()
