"""The embedded history store: day-partitioned frame logs, compacted to Parquet.

Layout of the store's folder::

    meters.txt           stable meter codes (see meterids.py)
    2026-11-21.log       readings whose ts falls on that UTC day, as appended frames
    2026-11-18.parquet   an older day, compacted: sorted by (meter, ts), deduplicated, zstd

Why: a batch becomes one ``os.write`` (hundreds of thousands of readings per
second, durable against ``kill -9`` once it returns), other processes read the
same files while the service appends, and finished days shrink to a few bytes
per reading. Readings stay in the day of their own timestamp, so a late reading
lands in its day's log even after that day was compacted; the next compaction
merges it in.
"""

from __future__ import annotations

import fcntl
import os
import re
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from ingest.historystores.framelog import FrameLog, read_frames
from ingest.historystores.meterids import MeterIds
from lifesign.readings import ReadingBatch

DAY_S = 86400.0
_DAY_FILE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})\.(log|parquet)$")


def day_of(ts: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    return np.floor(ts / DAY_S).astype(np.int64)


def day_name(day: int) -> str:
    return datetime.fromtimestamp(day * DAY_S, UTC).strftime("%Y-%m-%d")


class StoreLockedError(OSError):
    """Another process already writes this store."""


class SegmentHistoryStore:
    """:class:`lifesign.stores.HistoryStore` in a folder of frame logs and Parquet days.

    One process writes (it holds ``LOCK``); any number read, ``read_only=True``.
    ``fsync=True`` also survives power loss, at one fsync per batch.
    """

    def __init__(
        self,
        folder: str | Path,
        meter_ids: Sequence[str],
        *,
        read_only: bool = False,
        fsync: bool = False,
    ) -> None:
        self.folder = Path(folder)
        self.read_only = read_only
        self._fsync = fsync
        self._lock = threading.Lock()
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
        for _ in range(5):
            try:
                return self._read(start, end)
            except FileNotFoundError:
                # A compaction replaced a log by its Parquet day between our listing and
                # our read: list again.
                time.sleep(0.01)
        return self._read(start, end)

    def _read(self, start: float | None, end: float | None) -> ReadingBatch:
        self._check_open()
        if self.read_only:
            self.ids.refresh()
        lo = None if start is None else int(np.floor(start / DAY_S))
        hi = None if end is None else int(np.floor(end / DAY_S))
        codes: list[npt.NDArray[np.int32]] = []
        times: list[npt.NDArray[np.float64]] = []
        values: list[npt.NDArray[np.float64]] = []
        for day, parquet, log in self._days():
            if (lo is not None and day < lo) or (hi is not None and day > hi):
                continue
            if parquet is not None:
                table = pq.read_table(parquet, columns=["code", "ts", "value"])
                codes.append(table.column("code").to_numpy())
                times.append(table.column("ts").to_numpy())
                values.append(table.column("value").to_numpy())
            if log is not None:
                if not log.exists():
                    raise FileNotFoundError(log)
                for frame in read_frames(log):
                    codes.append(frame.code)
                    times.append(frame.ts)
                    values.append(frame.value)
        if not codes:
            return ReadingBatch.empty()
        code = np.concatenate(codes)
        ts = np.concatenate(times)
        value = np.concatenate(values)
        keep = np.ones(len(ts), dtype=bool)
        if start is not None:
            keep &= ts >= start
        if end is not None:
            keep &= ts < end
        meter = self.ids.to_index(code)
        keep &= meter >= 0
        return first_per_key(ReadingBatch(meter[keep], ts[keep].astype(np.float64), value[keep].astype(np.float64)))

    def _days(self) -> list[tuple[int, Path | None, Path | None]]:
        found: dict[int, list[Path | None]] = {}
        for entry in os.scandir(self.folder):
            match = _DAY_FILE.match(entry.name)
            if match is None:
                continue
            y, m, d, kind = match.groups()
            day = int(datetime(int(y), int(m), int(d), tzinfo=UTC).timestamp() // DAY_S)
            slot = found.setdefault(day, [None, None])
            slot[0 if kind == "parquet" else 1] = Path(entry.path)
        return [(day, p, log) for day, (p, log) in sorted(found.items())]

    def count(self) -> int:
        return len(self.read())

    # -- compaction -----------------------------------------------------------
    def compact(self, now: float, keep_days_open: int = 2) -> int:
        """Fold each day's log older than ``keep_days_open`` days into its Parquet file.

        Returns the number of days compacted. Safe against a crash at any point:
        the new Parquet file replaces the old one atomically before the log goes,
        and reads deduplicate a day that briefly exists in both.
        """
        if self.read_only:
            raise ValueError(f"history store {self.folder} is open read-only")
        today = int(np.floor(now / DAY_S))
        done = 0
        for day, parquet, log in self._days():
            if log is None or day > today - keep_days_open:
                continue
            with self._lock:
                open_log = self._logs.pop(day, None)
                if open_log is not None:
                    open_log.close()
                parts = []
                if parquet is not None:
                    parts.append(pq.read_table(parquet))
                frames = read_frames(log)
                if frames:
                    parts.append(pa.table({
                        "code": np.concatenate([f.code for f in frames]).astype(np.int32),
                        "ts": np.concatenate([f.ts for f in frames]),
                        "value": np.concatenate([f.value for f in frames]),
                    }))
                if parts:
                    merged = pa.concat_tables(parts)
                    code = merged.column("code").to_numpy()
                    ts = merged.column("ts").to_numpy()
                    order = np.lexsort((ts, code))  # stable: the first written stays first
                    code, ts = code[order], ts[order]
                    value = merged.column("value").to_numpy()[order]
                    first = np.ones(len(code), dtype=bool)
                    first[1:] = (code[1:] != code[:-1]) | (ts[1:] != ts[:-1])
                    table = pa.table({"code": code[first], "ts": ts[first], "value": value[first]})
                    target = self.folder / f"{day_name(day)}.parquet"
                    tmp = target.with_suffix(".parquet.tmp")
                    pq.write_table(table, tmp, compression="zstd")
                    with open(tmp, "rb") as f:
                        os.fsync(f.fileno())
                    os.replace(tmp, target)
                log.unlink()
                done += 1
        return done

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
    order = np.lexsort((batch.ts, batch.meter))  # stable: earlier-written first among equals
    sorted_batch = batch.take(order)
    first = np.ones(len(order), dtype=bool)
    first[1:] = (sorted_batch.meter[1:] != sorted_batch.meter[:-1]) | (sorted_batch.ts[1:] != sorted_batch.ts[:-1])
    return sorted_batch.take(first)
