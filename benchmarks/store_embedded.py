"""Write latency of the embedded history store while a compacted day takes in late readings.

    .venv/bin/python benchmarks/store_embedded.py [--rows 2000000] [--quick]

A day of ``--rows`` readings is compacted to Parquet. Then, in one run on one store:

- baseline: ``write()`` of a normal batch (500 readings of today), the store idle;
- ``write()`` of one late reading for the compacted day, the store idle;
- a backlog of late readings (1/6 of the day: gateways back after days away) makes the
  next compaction pass rewrite the day, and a writer writes a normal batch and a late
  reading, in turn, for as long as the pass runs:

  - *before*: the write lock held over the day rewrite, as compaction did before issue
    15's fix (reproduced with the store's fault hook: taken at ``before_day_rewrite``,
    given back at ``after_day_rewrite``);
  - *after*: the store as it is, the write lock held only to seal the day's log.

Latencies are per ``write()`` call, in milliseconds.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from ingest.historystores.segments import SegmentHistoryStore
from lifesign.readings import ReadingBatch

T0 = 1_763_700_000.0
DAY = 86400.0
TODAY = int(T0 // DAY)
OLD = TODAY - 5
READINGS_A_DAY = 96  # 15-minute meters


def day_of_readings(meters: int, offset_s: float, seed: int) -> ReadingBatch:
    rng = np.random.default_rng(seed)
    m = np.repeat(np.arange(meters, dtype=np.int32), READINGS_A_DAY)
    ts = OLD * DAY + offset_s + np.tile(np.arange(READINGS_A_DAY) * 900.0, meters)
    return ReadingBatch.of(m, ts, np.round(rng.random(len(m)) * 1e4, 3))


class Writer:
    """Normal batches of today and single late readings for the old day, in turn."""

    def __init__(self, store: SegmentHistoryStore, meters: int) -> None:
        self.store = store
        self.meters = meters
        self.n = 0

    def normal(self) -> float:
        self.n += 1
        meter = (np.arange(500) + self.n * 500) % self.meters
        return self._timed(ReadingBatch.of(meter, np.full(500, TODAY * DAY + self.n), np.full(500, 1.0)))

    def late(self) -> float:
        self.n += 1
        return self._timed(ReadingBatch.of([self.n % self.meters], [OLD * DAY + 1.0 + self.n / 1000], [2.0]))

    def _timed(self, batch: ReadingBatch) -> float:
        began = time.perf_counter()
        self.store.write(batch)
        return (time.perf_counter() - began) * 1000.0


class OldLockScope:
    """The store's fault hook, holding its write lock over the day rewrite (the old scope)
    while ``active``."""

    def __init__(self) -> None:
        self.store: SegmentHistoryStore | None = None
        self.active = True

    def __call__(self, point: str) -> None:
        if not self.active or self.store is None:
            return
        if point == "before_day_rewrite":
            self.store._lock.acquire()
        elif point == "after_day_rewrite":
            self.store._lock.release()


def while_rewriting(store: SegmentHistoryStore, writer: Writer, meters: int, seed: int) -> tuple[list[float], float]:
    """Write latencies while a compaction pass rewrites the old day, and the pass's duration."""
    backlog = day_of_readings(meters // 6, offset_s=450.0, seed=seed)
    for part in np.array_split(np.arange(len(backlog)), max(1, len(backlog) // 500)):
        store.write(backlog.take(part))
    latencies: list[float] = []
    began = time.perf_counter()
    compaction = threading.Thread(target=store.compact, kwargs={"now": T0})
    compaction.start()
    while compaction.is_alive():
        latencies.append(writer.normal())
        latencies.append(writer.late())
        time.sleep(0.001)  # a busy ingest's pace, not a tight loop fighting the pass for the GIL
    took = time.perf_counter() - began
    compaction.join()
    return latencies, took


def row(case: str, latencies: list[float]) -> str:
    p50, p99 = np.percentile(latencies, [50, 99])
    return f"| {case} | {len(latencies):,} | {p50:.3f} | {p99:.3f} | {max(latencies):.1f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000, help="readings in the compacted day")
    parser.add_argument("--quick", action="store_true", help="a 200,000-reading day, for a smoke run")
    args = parser.parse_args()
    rows = 200_000 if args.quick else args.rows
    meters = rows // READINGS_A_DAY
    ids = [f"W{i:07d}" for i in range(meters)]
    hook = OldLockScope()
    with tempfile.TemporaryDirectory(prefix="lifesign-bench-") as tmp:
        # every pass takes late readings into the day (no side segments kept), so both runs rewrite it
        store = SegmentHistoryStore(Path(tmp) / "history", ids, max_late_segments=0, fault_point=hook)
        hook.store = store
        day = day_of_readings(meters, offset_s=0.0, seed=1)
        for part in np.array_split(np.arange(len(day)), max(1, len(day) // 100_000)):
            store.write(day.take(part))
        began = time.perf_counter()
        store.compact(now=T0)
        first = time.perf_counter() - began

        writer = Writer(store, meters)
        normal = [writer.normal() for _ in range(500)]
        late = [writer.late() for _ in range(500)]
        store.compact(now=T0)  # the late readings into the day, before the measured passes
        before, before_s = while_rewriting(store, writer, meters, seed=2)
        hook.active = False  # from here on: the store as it is
        after, after_s = while_rewriting(store, writer, meters, seed=3)
        total = len(store.read())
        store.close()

    print(f"compacted day: {len(day):,} readings ({meters:,} meters x {READINGS_A_DAY}); its first compaction "
          f"{first:.2f} s; a day rewrite with a {meters // 6 * READINGS_A_DAY:,}-reading backlog: {before_s:.2f} s (before), "
          f"{after_s:.2f} s (after); {total:,} readings stored at the end")
    print()
    print("| write() | calls | p50 ms | p99 ms | max ms |")
    print("| --- | ---: | ---: | ---: | ---: |")
    print(row("baseline: normal batch (500 readings), store idle", normal))
    print(row("late reading for the compacted day, store idle", late))
    print(row("before: batch or late reading during the day rewrite, write lock held over it", before))
    print(row("after: batch or late reading during the day rewrite", after))


if __name__ == "__main__":
    main()
