"""One contract for every history store (APScheduler-style): same checks, each implementation."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from ingest.historystores.framelog import HEADER, read_frames
from ingest.historystores.memory import MemoryHistoryStore
from ingest.historystores.segments import SegmentHistoryStore, StoreLockedError, day_name
from lifesign.readings import ReadingBatch
from lifesign.stores import HistoryStore

T0 = 1_763_700_000.0
METER_IDS = [f"M{i:03d}" for i in range(64)]


@pytest.fixture(params=["memory", "segments", "influx"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[HistoryStore]:
    """Every implementation; influx against a real VictoriaMetrics started for the test."""
    made: HistoryStore
    if request.param == "memory":
        made = MemoryHistoryStore(METER_IDS)
    elif request.param == "segments":
        made = SegmentHistoryStore(tmp_path / "history", METER_IDS)
    else:
        from ingest.historystores.influx import InfluxHistoryStore

        made = InfluxHistoryStore(request.getfixturevalue("victoria_url"), "", "", "lifesign", METER_IDS)
    yield made
    made.close()


def as_points(batch: ReadingBatch) -> list[tuple[int, float, float]]:
    return list(zip(batch.meter.tolist(), batch.ts.tolist(), batch.value.tolist()))


def test_empty_store_reads_empty_typed_columns(store: HistoryStore) -> None:
    got = store.read()
    assert len(got) == 0 and store.count() == 0
    assert (
        got.meter.dtype == np.int32 and got.ts.dtype == np.float64 and got.value.dtype == np.float64
    )


def test_write_then_read_gives_the_points_back(store: HistoryStore) -> None:
    store.write(ReadingBatch.of([3, 1, 2], [T0, T0 + 1.5, T0], [10.25, 0.125, 7.0]))
    assert store.count() == 3
    assert as_points(store.read()) == [(1, T0 + 1.5, 0.125), (2, T0, 7.0), (3, T0, 10.25)]


def test_read_is_sorted_by_meter_then_time(store: HistoryStore) -> None:
    rng = np.random.default_rng(7)
    meters = rng.integers(0, 50, 400)
    times = T0 + rng.integers(0, 10_000, 400).astype(float)
    store.write(ReadingBatch.of(meters, times, rng.random(400)))
    got = store.read()
    order = np.lexsort((got.ts, got.meter))
    assert np.array_equal(order, np.arange(len(got)))
    # every distinct (meter, ts) is there once
    assert len(got) == len({(m, t) for m, t in zip(meters.tolist(), times.tolist())})


def test_duplicate_meter_time_keeps_one_point(store: HistoryStore) -> None:
    store.write(ReadingBatch.of([1, 1], [T0, T0 + 60], [5.0, 5.1]))
    # a redelivered message: same points, one new one
    store.write(ReadingBatch.of([1, 1, 2], [T0, T0 + 60, T0], [9.9, 9.9, 1.0]))
    # duplicates inside one batch
    store.write(ReadingBatch.of([4, 4, 4], [T0, T0, T0], [2.0, 3.0, 4.0]))
    got = as_points(store.read())
    assert [(m, t) for m, t, _ in got] == [(1, T0), (1, T0 + 60), (2, T0), (4, T0)]
    assert store.count() == 4
    if isinstance(store, (MemoryHistoryStore, SegmentHistoryStore)):
        # ours keep the first value written; servers have rules of their own (InfluxDB: the
        # last write; VictoriaMetrics: the largest): ingest never rewrites a key with another value
        assert [v for _, _, v in got] == [5.0, 5.1, 1.0, 2.0]
    else:
        assert got[0][2] in (5.0, 9.9) and got[3][2] in (2.0, 3.0, 4.0)


def test_empty_batch_writes_nothing(store: HistoryStore) -> None:
    store.write(ReadingBatch.empty())
    assert store.count() == 0


def test_range_is_start_inclusive_end_exclusive(store: HistoryStore) -> None:
    store.write(ReadingBatch.of([1, 1, 1, 2], [T0, T0 + 10, T0 + 20, T0 + 10], [1, 2, 3, 4]))
    assert as_points(store.read(T0 + 10, T0 + 20)) == [(1, T0 + 10, 2.0), (2, T0 + 10, 4.0)]
    assert [p[1] for p in as_points(store.read(start=T0 + 10))] == [T0 + 10, T0 + 20, T0 + 10]
    assert [p[1] for p in as_points(store.read(end=T0 + 10))] == [T0]
    assert len(store.read(T0 + 30, T0 + 40)) == 0


def test_writes_from_several_threads_all_land(store: HistoryStore) -> None:
    def writer(meter: int) -> None:
        for i in range(50):
            store.write(ReadingBatch.of([meter], [T0 + i], [float(i)]))

    threads = [threading.Thread(target=writer, args=(m,)) for m in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.count() == 200


def test_closed_store_refuses_use(store: HistoryStore) -> None:
    store.close()
    with pytest.raises(ValueError, match="closed"):
        store.write(ReadingBatch.of([1], [T0], [1.0]))


def test_readings_spanning_days_come_back_in_range(store: HistoryStore) -> None:
    day = 86400.0
    store.write(ReadingBatch.of([5, 5, 5, 6], [T0 - day, T0, T0 + day, T0 + 2 * day], [1, 2, 3, 4]))
    assert [p[1] for p in as_points(store.read(T0 - 1, T0 + day + 1))] == [T0, T0 + day]


# -- the embedded store: durability, concurrent readers, stable ids, compaction ---------


def segments(folder: Path, meter_ids: list[str] = METER_IDS, **kw: object) -> SegmentHistoryStore:
    return SegmentHistoryStore(folder, meter_ids, **kw)  # type: ignore[arg-type]


def test_segments_survive_reopening_and_keep_meter_identity_when_the_registry_is_reordered(tmp_path: Path) -> None:
    first = segments(tmp_path / "h")
    first.write(ReadingBatch.of([1, 2], [T0, T0], [1.0, 2.0]))
    first.close()
    # meters.csv edited: the same meters in another order, plus a new one
    reordered = ["NEW", *reversed(METER_IDS)]
    again = segments(tmp_path / "h", reordered)
    try:
        got = as_points(again.read())
        assert sorted((reordered[m], t, v) for m, t, v in got) == [("M001", T0, 1.0), ("M002", T0, 2.0)]
    finally:
        again.close()


def test_segments_write_survives_process_exit_without_close(tmp_path: Path) -> None:
    folder = tmp_path / "h"
    script = textwrap.dedent(
        f"""
        import os
        from ingest.historystores.segments import SegmentHistoryStore
        from lifesign.readings import ReadingBatch
        store = SegmentHistoryStore({str(folder)!r}, {METER_IDS!r})
        store.write(ReadingBatch.of([7, 7], [{T0}, {T0 + 900}], [3.5, 3.75]))
        os._exit(0)  # no close, no atexit: like kill -9 right after write()
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    reopened = segments(folder)
    try:
        assert as_points(reopened.read()) == [(7, T0, 3.5), (7, T0 + 900, 3.75)]
    finally:
        reopened.close()


def test_segments_torn_tail_is_ignored_by_readers_and_cut_by_the_next_writer(tmp_path: Path) -> None:
    folder = tmp_path / "h"
    store = segments(folder)
    store.write(ReadingBatch.of([1, 2], [T0, T0], [1.0, 2.0]))
    store.close()
    log = folder / f"{day_name(int(T0 // 86400))}.log"
    whole = log.stat().st_size
    with open(log, "ab") as f:  # a crash in the middle of the next frame
        f.write(b"LSF1" + b"\x05\x00\x00\x00" + b"\x00" * 30)
    assert len(segments(folder, read_only=True).read()) == 2
    writer = segments(folder)
    try:
        writer.write(ReadingBatch.of([3], [T0], [3.0]))
        assert log.stat().st_size == whole + HEADER.size + 20  # the torn bytes are gone
        assert [p[0] for p in as_points(writer.read())] == [1, 2, 3]
    finally:
        writer.close()


def test_segments_a_reader_sees_what_the_writer_appends_meanwhile(tmp_path: Path) -> None:
    folder = tmp_path / "h"
    writer = segments(folder)
    reader = segments(folder, read_only=True)  # the CLI, in its own process in real life
    try:
        writer.write(ReadingBatch.of([1], [T0], [1.0]))
        assert reader.count() == 1
        writer.write(ReadingBatch.of([1], [T0 + 1], [1.1]))
        assert as_points(reader.read(start=T0 + 1)) == [(1, T0 + 1, 1.1)]
        with pytest.raises(ValueError, match="read-only"):
            reader.write(ReadingBatch.of([1], [T0 + 2], [1.2]))
    finally:
        reader.close()
        writer.close()


def test_segments_second_writer_is_refused(tmp_path: Path) -> None:
    writer = segments(tmp_path / "h")
    try:
        with pytest.raises(StoreLockedError, match="already open for writing"):
            segments(tmp_path / "h")
    finally:
        writer.close()


def test_segments_compaction_dedups_shrinks_and_still_takes_late_readings(tmp_path: Path) -> None:
    folder = tmp_path / "h"
    store = segments(folder)
    rng = np.random.default_rng(3)
    meters = np.repeat(np.arange(64), 96)
    times = T0 - 5 * 86400 + np.tile(np.arange(96) * 900.0, 64)
    values = np.round(np.cumsum(rng.random(len(meters))), 3)
    batch = ReadingBatch.of(meters, times, values)
    store.write(batch)
    store.write(batch.take(np.arange(100)))  # a resend the filter upstream did not catch
    before = store.read()
    log_bytes = store.disk_bytes()
    try:
        assert store.compact(now=T0) >= 1
        assert not list(folder.glob("*.log")) and list(folder.glob("*.parquet"))
        after = store.read()
        assert as_points(after) == as_points(before) and len(after) == len(batch)
        assert store.disk_bytes() < log_bytes / 2
        late = ReadingBatch.of([0], [T0 - 5 * 86400 + 450.0], [0.01])  # a late reading for a compacted day
        store.write(late)
        assert (0, T0 - 5 * 86400 + 450.0, 0.01) in as_points(store.read())
        store.compact(now=T0)
        assert len(store.read()) == len(batch) + 1 and not list(folder.glob("*.log"))
    finally:
        store.close()


def test_frames_round_trip_with_the_header_they_claim(tmp_path: Path) -> None:
    store = segments(tmp_path / "h")
    store.write(ReadingBatch.of([1, 2, 3], [T0, T0, T0], [1.0, 2.0, 3.0]))
    store.close()
    (log,) = (tmp_path / "h").glob("*.log")
    frames = read_frames(log)
    assert [len(f) for f in frames] == [3] and log.stat().st_size == HEADER.size + 3 * 20
