"""The embedded history store: day-partitioned frame logs, compacted to Parquet.

Layout of the store's folder (the files of one day: see dayfiles.py)::

    meters.txt                 stable meter codes (see meterids.py)
    2026-11-21.log             readings whose ts falls on that UTC day, as appended frames
    2026-11-18.parquet         an older day, compacted: sorted by (meter, ts), deduplicated, zstd
    2026-11-18.late-1.parquet  late readings for that compacted day, merged in later

Why: a batch becomes one ``os.write`` (hundreds of thousands of readings per
second, durable against ``kill -9`` once it returns), other processes read the
same files while the service appends, and finished days shrink to a few bytes
per reading. Readings stay in the day of their own timestamp, so a late reading
lands in its day's log even after that day was compacted, at the cost of any other
write; compaction turns that log into a small side segment and merges those off the
ingest path (compaction.py).
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ingest.faults import FaultPoint, fault_point_from
from ingest.historystores.compaction import MAX_LATE_SEGMENTS, settle
from ingest.historystores.dayfiles import (
    DAY_S,
    SWAP_LOCK,
    Day,
    DayFile,
    day_name,
    day_of,
    files_held,
    first_of_each_key,
    fsync_folder,
    list_days,
    read_file,
    remove_stale_tmp,
)
from ingest.historystores.framelog import Frame, FrameLog
from ingest.historystores.meterids import MeterIds
from lifesign.readings import ReadingBatch


class StoreLockedError(OSError):
    """Another process already writes this store."""


class SegmentHistoryStore:
    """:class:`lifesign.stores.HistoryStore` in a folder of frame logs and Parquet days.

    One process writes (it holds ``LOCK``); any number read, ``read_only=True``.
    ``fsync=True`` also survives power loss, at one fsync per batch.
    ``max_late_segments``: side segments of late readings a compacted day keeps before
    compaction merges them. ``fault_point``: named points of compaction for crash tests
    (ingest/faults.py; by default from ``LIFESIGN_FAULT``).
    """

    def __init__(
        self,
        folder: str | Path,
        meter_ids: Sequence[str],
        *,
        read_only: bool = False,
        fsync: bool = False,
        max_late_segments: int = MAX_LATE_SEGMENTS,
        fault_point: FaultPoint | None = None,
    ) -> None:
        if max_late_segments < 0:
            raise ValueError(f"max_late_segments must be >= 0, got {max_late_segments}")
        self.folder = Path(folder)
        self.read_only = read_only
        self._fsync = fsync
        self._max_late_segments = max_late_segments
        self._fault = fault_point or (fault_point_from() if not read_only else _inert)
        #: writes and seals; never held while a day is read or rewritten
        self._lock = threading.Lock()
        #: one compaction pass at a time (the service's job, a test, the CLI)
        self._compacting = threading.Lock()
        self._logs: dict[int, FrameLog] = {}
        self._lock_fd = -1
        if not read_only:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._lock_fd = os.open(self.folder / "LOCK", os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(self._lock_fd)
                raise StoreLockedError(f"history store {self.folder} is already open for writing by another process") from None
            remove_stale_tmp(self.folder)
            os.close(os.open(self.folder / SWAP_LOCK, os.O_RDONLY | os.O_CREAT, 0o644))
        elif not self.folder.is_dir():
            raise LookupError(f"No history store at {self.folder}")
        self.ids = MeterIds(self.folder / "meters.txt", list(meter_ids), writable=not read_only)
        self._closed = False

    # -- writing --------------------------------------------------------------
    def write(self, batch: ReadingBatch) -> None:
        if len(batch) == 0:
            return
        if self.read_only:
            raise ValueError(f"history store {self.folder} is open read-only")
        code = self.ids.code_of_index[batch.meter]
        days = day_of(batch.ts)
        with self._lock:
            self._check_open()
            first, last = int(days.min()), int(days.max())
            if first == last:  # the usual case: one batch, one day
                self._log(first).append(code, batch.ts, batch.value)
                return
            for day in np.unique(days).tolist():
                mask = days == day
                self._log(day).append(code[mask], batch.ts[mask], batch.value[mask])

    def _log(self, day: int) -> FrameLog:
        log = self._logs.get(day)
        if log is None:
            if len(self._logs) >= 8:  # keep a few days' files open, not one per late reading's day
                oldest = min(self._logs)
                self._logs.pop(oldest).close()
            log = self._logs[day] = FrameLog(self.folder / f"{day_name(day)}.log", fsync=self._fsync)
        return log

    # -- reading --------------------------------------------------------------
    def read(self, start: float | None = None, end: float | None = None) -> ReadingBatch:
        self._check_open()
        if self.read_only:
            self.ids.refresh()
        lo = None if start is None else int(np.floor(start / DAY_S))
        hi = None if end is None else int(np.floor(end / DAY_S))
        frames: list[Frame] = []
        with files_held(self.folder, exclusive=False):  # compaction renames nothing meanwhile
            for number, day in sorted(list_days(self.folder).items()):
                if (lo is not None and number < lo) or (hi is not None and number > hi):
                    continue
                frames.extend(frame for found in day.in_write_order() for frame in read_file(found))
        if not frames:
            return ReadingBatch.empty()
        code = np.concatenate([f.code for f in frames])
        ts = np.concatenate([f.ts for f in frames])
        value = np.concatenate([f.value for f in frames])
        keep = np.ones(len(ts), dtype=bool)
        if start is not None:
            keep &= ts >= start
        if end is not None:
            keep &= ts < end
        meter = self.ids.to_index(code)
        keep &= meter >= 0
        return first_per_key(ReadingBatch(meter[keep], ts[keep].astype(np.float64), value[keep].astype(np.float64)))

    def count(self) -> int:
        return len(self.read())

    # -- compaction -----------------------------------------------------------
    def compact(self, now: float, keep_days_open: int = 2) -> int:
        """Compact each day older than ``keep_days_open`` days; the number of days changed.

        The write lock is held only to seal a day's live log (a rename); reading and
        rewriting the day happen outside it, so ingest keeps writing, late readings for
        that same day included. Safe against a crash at any point: see compaction.py.
        """
        if self.read_only:
            raise ValueError(f"history store {self.folder} is open read-only")
        today = int(np.floor(now / DAY_S))
        changed = 0
        with self._compacting:
            for number, day in sorted(list_days(self.folder).items()):
                if number > today - keep_days_open:
                    continue
                sealed = self._seal(day)
                settled = settle(day, self._max_late_segments, self._fault)
                changed += sealed or settled
        return changed

    def _seal(self, day: Day) -> bool:
        """The day's live log becomes its next side segment; a write after this starts a new log."""
        if day.log is None:
            return False
        number = day.next_side()
        side = day.path_of(f"late-{number}.log")
        # readers first (a long read may hold them for seconds), then writes, for a rename only:
        # never the other way round, or ingest would wait for a reader
        with files_held(self.folder, exclusive=True), self._lock:
            self._check_open()
            open_log = self._logs.pop(day.day, None)
            if open_log is not None:
                open_log.close()  # its fd would go on appending to the renamed file
            os.rename(day.log.path, side)
            if self._fsync:
                fsync_folder(self.folder)
        self._fault("after_seal")
        day.sides[number] = [DayFile(side)]
        day.log = None
        return True

    def disk_bytes(self) -> int:
        return sum(e.stat().st_size for e in os.scandir(self.folder) if e.is_file())

    def close(self) -> None:
        with self._lock:
            for log in self._logs.values():
                log.close()
            self._logs.clear()
            if self._lock_fd >= 0:
                os.close(self._lock_fd)
                self._lock_fd = -1
            self._closed = True

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError(f"history store {self.folder} is closed")


def first_per_key(batch: ReadingBatch) -> ReadingBatch:
    """Sorted by (meter, ts), keeping the first-written point of each key."""
    if len(batch) == 0:
        return batch
    return batch.take(first_of_each_key(batch.meter, batch.ts))


def _inert(point: str) -> None:
    return None


__all__ = ["DAY_S", "SegmentHistoryStore", "StoreLockedError", "day_name", "day_of", "first_per_key"]
