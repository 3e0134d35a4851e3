"""A history store held in memory: for tests, replays and demos that need no file."""

from __future__ import annotations

import threading

import numpy as np

from lifesign.readings import ReadingBatch


class MemoryHistoryStore:
    """:class:`lifesign.stores.HistoryStore` in a dict keyed by (meter, ts).

    Like the embedded store, the first value written for a (meter, ts) is kept and
    a repeat is ignored, so a redelivered message leaves one point. It keeps
    registry indices: nothing outlives the process, so ids need no mapping.
    """

    def __init__(self, meter_ids: object = None) -> None:
        self._points: dict[tuple[int, float], float] = {}
        self._lock = threading.Lock()
        self._closed = False

    def write(self, batch: ReadingBatch) -> None:
        with self._lock:
            self._check_open()
            for key_meter, key_ts, value in zip(
                batch.meter.tolist(), batch.ts.tolist(), batch.value.tolist()
            ):
                key = (key_meter, key_ts)
                self._points.setdefault(key, value)

    def read(self, start: float | None = None, end: float | None = None) -> ReadingBatch:
        with self._lock:
            self._check_open()
            points = [
                (meter, ts, value)
                for (meter, ts), value in self._points.items()
                if (start is None or ts >= start) and (end is None or ts < end)
            ]
        if not points:
            return ReadingBatch.empty()
        points.sort()
        columns = np.array(points, dtype=np.float64)
        return ReadingBatch(
            columns[:, 0].astype(np.int32), columns[:, 1].copy(), columns[:, 2].copy()
        )

    def count(self) -> int:
        with self._lock:
            self._check_open()
            return len(self._points)

    def close(self) -> None:
        with self._lock:
            self._closed = True

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError("memory history store is closed")
