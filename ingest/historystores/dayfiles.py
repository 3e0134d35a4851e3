"""The embedded store's files, one UTC day at a time: which files hold a day, how each
is read, and how a Parquet file is replaced.

A day is held by up to three kinds of file::

    2026-11-18.parquet         the day, compacted: sorted by (meter, ts), deduplicated, zstd
    2026-11-18.late-3.parquet  a side segment: late readings for the compacted day (also
    2026-11-18.late-3.log      as a frame log, between its seal and its rewrite as Parquet)
    2026-11-18.log             the live log: every write of a reading on that day appends here

They were written in that order (day file, side segments by number, live log), and
that is the order readers take them in: where a (meter, ts) appears twice, the first
written wins, as in every store of lifesign.

Readers hold ``SWAPLOCK`` shared while they list and read; compaction holds it
exclusively only while it renames, replaces or removes files (never while it reads or
merges a day), so a reader never opens a name that has come to hold other readings
since it listed the folder. Writes never take it.
"""

from __future__ import annotations

import fcntl
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from ingest.historystores.framelog import ROW_BYTES, Frame, scan

DAY_S = 86400.0
_NAME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:\.late-(\d+))?\.(log|parquet)$")
#: a Parquet file being written; only the writer makes them, so one left at its start is from a crash
TMP_SUFFIX = ".tmp"
SWAP_LOCK = "SWAPLOCK"
#: a day file's Parquet metadata: the highest side segment number it took in. Side numbers of a
#: day never repeat, so a side at or below it, left by a crash before its removal, is known merged
THROUGH_KEY = b"lifesign.sides_through"


def day_of(ts: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    return np.floor(ts / DAY_S).astype(np.int64)


def day_name(day: int) -> str:
    return datetime.fromtimestamp(day * DAY_S, UTC).strftime("%Y-%m-%d")


@dataclass(frozen=True)
class DayFile:
    path: Path

    @property
    def is_log(self) -> bool:
        return self.path.suffix == ".log"

    def rows(self) -> int:
        """How many readings it holds (a log: about, from its size; it is only ever a hint)."""
        if self.is_log:
            return self.path.stat().st_size // ROW_BYTES
        return int(pq.read_metadata(self.path).num_rows)


@dataclass
class Day:
    folder: Path
    day: int
    parquet: DayFile | None = None
    #: side segment number -> its files (Parquet first: a crash can leave both, with the same readings)
    sides: dict[int, list[DayFile]] = field(default_factory=dict)
    log: DayFile | None = None

    def side_files(self) -> list[DayFile]:
        return [f for n in sorted(self.sides) for f in self.sides[n]]

    def in_write_order(self) -> list[DayFile]:
        head = [self.parquet] if self.parquet is not None else []
        tail = [self.log] if self.log is not None else []
        return head + self.side_files() + tail

    def sides_through(self) -> int:
        """The highest side segment number the day file took in (0: none, or no day file)."""
        if self.parquet is None:
            return 0
        metadata = pq.read_metadata(self.parquet.path).metadata or {}
        return int(metadata.get(THROUGH_KEY, b"0"))

    def next_side(self) -> int:
        return max(max(self.sides, default=0), self.sides_through()) + 1

    def path_of(self, kind: str) -> Path:
        """``kind``: ``parquet``, ``log``, ``late-N.parquet`` or ``late-N.log``."""
        return self.folder / f"{day_name(self.day)}.{kind}"


def list_days(folder: Path) -> dict[int, Day]:
    days: dict[int, Day] = {}
    for entry in os.scandir(folder):
        match = _NAME.match(entry.name)
        if match is None:
            continue
        y, m, d, side, kind = match.groups()
        number = int(datetime(int(y), int(m), int(d), tzinfo=UTC).timestamp() // DAY_S)
        day = days.setdefault(number, Day(folder, number))
        found = DayFile(Path(entry.path))
        if side is not None:
            files = day.sides.setdefault(int(side), [])
            files.insert(0 if kind == "parquet" else len(files), found)
        elif kind == "parquet":
            day.parquet = found
        else:
            day.log = found
    return days


@contextmanager
def files_held(folder: Path, *, exclusive: bool) -> Iterator[None]:
    """``SWAPLOCK``: shared to list and read the day files, exclusive to change them."""
    try:
        fd = os.open(folder / SWAP_LOCK, os.O_RDONLY)
    except FileNotFoundError:  # made by an older writer, which had no compaction to fear
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)


def read_file(found: DayFile) -> list[Frame]:
    data = found.path.read_bytes()
    if found.is_log:
        return scan(data)[0]  # a torn tail (a writer appending) is left out
    table = pq.read_table(pa.BufferReader(data), columns=["code", "ts", "value"])
    return [Frame(table.column("code").to_numpy(), table.column("ts").to_numpy(), table.column("value").to_numpy())]


def first_of_each_key(code: npt.NDArray[np.int32], ts: npt.NDArray[np.float64]) -> npt.NDArray[np.intp]:
    """Positions that sort by (code, ts) and keep the first written of each key: the
    sort is stable, so among equal keys the earlier position comes first."""
    order = np.lexsort((ts, code))
    code, ts = code[order], ts[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = (code[1:] != code[:-1]) | (ts[1:] != ts[:-1])
    return order[first]


def merged(parts: list[Frame]) -> Frame:
    """Frames in write order as one, sorted by (code, ts), the first written of each key kept."""
    code = np.concatenate([p.code for p in parts]).astype(np.int32, copy=False)
    ts = np.concatenate([p.ts for p in parts])
    value = np.concatenate([p.value for p in parts])
    keep = first_of_each_key(code, ts)
    return Frame(code[keep], ts[keep], value[keep])


def write_beside(frame: Frame, target: Path, sides_through: int = 0) -> Path:
    """``frame`` as a Parquet file beside ``target``, on disk (fsynced), for :func:`install`."""
    tmp = target.with_name(target.name + TMP_SUFFIX)
    table = pa.table({"code": frame.code, "ts": frame.ts, "value": frame.value})
    if sides_through:
        table = table.replace_schema_metadata({THROUGH_KEY: str(sides_through).encode()})
    pq.write_table(table, tmp, compression="zstd")
    with open(tmp, "rb") as written:
        os.fsync(written.fileno())
    return tmp


def install(tmp: Path, target: Path) -> None:
    """``target`` holds the new file or what it held before, never half of either; the
    rename is durable before anything it replaces is removed."""
    os.replace(tmp, target)
    fsync_folder(target.parent)


def fsync_folder(folder: Path) -> None:
    """Renames and unlinks in ``folder`` survive a power cut, in the order they were made."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_stale_tmp(folder: Path) -> None:
    """Half-written Parquet files of a writer that crashed (no reader ever looks at them)."""
    for entry in os.scandir(folder):
        if entry.name.endswith(".parquet" + TMP_SUFFIX):
            os.unlink(entry.path)


__all__ = ["DAY_S", "SWAP_LOCK", "Day", "DayFile", "day_name", "day_of", "files_held", "first_of_each_key",
           "fsync_folder", "install", "list_days", "merged", "read_file", "remove_stale_tmp", "write_beside"]
