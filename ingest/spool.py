"""A bounded on-disk buffer for readings the history store could not take.

When the store is unreachable (InfluxDB down, a full disk on its host), ingest
writes each batch here instead: as durable as the embedded store (one
``os.write`` per batch, survives ``kill -9``), so the broker ack may follow and
detection goes on. When the spool is full, ingest stops acking and the broker
holds the rest (back-pressure). Once the store answers again, ingest drains
the spool file by file, oldest first; a file is deleted only after all its
readings were written, so a crash mid-drain writes some again, which the
store's one-point-per-(meter, ts) rule absorbs.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ingest.historystores.framelog import HEADER, ROW_BYTES, FrameLog, read_frames
from ingest.historystores.meterids import MeterIds
from lifesign.readings import ReadingBatch
from lifesign.stores import HistoryStore

_FILE = re.compile(r"^spool-(\d{9})\.log$")
#: start a new file past this size, so drained files can go while new ones fill
_ROTATE_BYTES = 16 * 1024 * 1024


class SpoolFull(OSError):
    """The spool reached its size limit: stop acking until it drains."""


class Spool:
    def __init__(self, folder: Path, meter_ids: Sequence[str], max_bytes: int, *, fsync: bool = False) -> None:
        if max_bytes < HEADER.size + ROW_BYTES:
            raise ValueError(f"spool max_bytes must be at least {HEADER.size + ROW_BYTES}, got {max_bytes}")
        self.folder = folder
        self.max_bytes = max_bytes
        self._fsync = fsync
        folder.mkdir(parents=True, exist_ok=True)
        self.ids = MeterIds(folder / "meters.txt", list(meter_ids))
        self._files = sorted((int(m.group(1)), folder / m.group(0))
                             for m in map(_FILE.match, os.listdir(folder)) if m)
        self._current: FrameLog | None = None
        self.bytes = sum(p.stat().st_size for _, p in self._files)
        self.readings = sum(sum(len(f) for f in read_frames(p)) for _, p in self._files)

    def __len__(self) -> int:
        return self.readings

    def append(self, batch: ReadingBatch) -> None:
        if len(batch) == 0:
            return
        size = HEADER.size + ROW_BYTES * len(batch)
        if self.bytes + size > self.max_bytes:
            raise SpoolFull(f"spool {self.folder} is full ({self.bytes} of {self.max_bytes} bytes)")
        if self._current is None or self._current.size > _ROTATE_BYTES:
            self.rotate()
            number = self._files[-1][0] + 1 if self._files else 1
            path = self.folder / f"spool-{number:09d}.log"
            self._files.append((number, path))
            self._current = FrameLog(path, fsync=self._fsync)
        self._current.append(self.ids.code_of_index[batch.meter], batch.ts, batch.value)
        self.bytes += size
        self.readings += len(batch)

    def read(self) -> ReadingBatch:
        """Everything spooled, as registry indices (for rebuilding state at start)."""
        parts = [self._batch(path) for _, path in self._files]
        return ReadingBatch.concat(parts)

    def _batch(self, path: Path) -> ReadingBatch:
        frames = read_frames(path)
        if not frames:
            return ReadingBatch.empty()
        meter = self.ids.to_index(np.concatenate([f.code for f in frames]))
        known = meter >= 0
        return ReadingBatch(meter[known], np.concatenate([f.ts for f in frames])[known],
                            np.concatenate([f.value for f in frames])[known])

    def drain_one(self, store: HistoryStore) -> ReadingBatch:
        """Write the oldest spool file to the store and delete it; returns what moved.
        Raises what the store raises (still down): the file stays."""
        if not self._files:
            return ReadingBatch.empty()
        batch = self._batch(self._files[0][1])
        store.write(batch)
        self.drop_oldest()
        return batch

    def rotate(self) -> None:
        """Start a new file with the next append (the current one can then be dropped whole)."""
        if self._current is not None:
            self._current.close()
            self._current = None

    @property
    def files(self) -> int:
        return len(self._files)

    def drop_oldest(self) -> None:
        """Delete the oldest file and forget its readings."""
        _, path = self._files[0]
        if self._current is not None and self._current.path == path:
            self.rotate()
        readings = sum(len(f) for f in read_frames(path))
        size = path.stat().st_size
        path.unlink()
        self._files.pop(0)
        self.bytes -= size
        self.readings -= readings

    def close(self) -> None:
        if self._current is not None:
            self._current.close()
            self._current = None
