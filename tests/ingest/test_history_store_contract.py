"""One contract for every history store (APScheduler-style): same checks, each implementation."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from ingest.historystores.memory import MemoryHistoryStore
from ingest.historystores.sqlite import SqliteHistoryStore
from lifesign.readings import ReadingBatch
from lifesign.stores import HistoryStore

T0 = 1_763_700_000.0


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[HistoryStore]:
    made: HistoryStore = (
        MemoryHistoryStore()
        if request.param == "memory"
        else SqliteHistoryStore(tmp_path / "history.sqlite")
    )
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


def test_write_returns_new_points_and_read_gives_them_back(store: HistoryStore) -> None:
    assert store.write(ReadingBatch.of([3, 1, 2], [T0, T0 + 1.5, T0], [10.25, 0.125, 7.0])) == 3
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


def test_duplicate_meter_time_keeps_one_point_first_value_wins(store: HistoryStore) -> None:
    assert store.write(ReadingBatch.of([1, 1], [T0, T0 + 60], [5.0, 5.1])) == 2
    # a redelivered message: same points, one new one
    assert store.write(ReadingBatch.of([1, 1, 2], [T0, T0 + 60, T0], [9.9, 9.9, 1.0])) == 1
    # duplicates inside one batch
    assert store.write(ReadingBatch.of([4, 4, 4], [T0, T0, T0], [2.0, 3.0, 4.0])) == 1
    assert as_points(store.read()) == [(1, T0, 5.0), (1, T0 + 60, 5.1), (2, T0, 1.0), (4, T0, 2.0)]
    assert store.count() == 4


def test_empty_batch_writes_nothing(store: HistoryStore) -> None:
    assert store.write(ReadingBatch.empty()) == 0
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


# -- SQLite only: durability --------------------------------------------------


def test_sqlite_data_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    first = SqliteHistoryStore(path)
    first.write(ReadingBatch.of([1, 2], [T0, T0], [1.0, 2.0]))
    first.close()
    again = SqliteHistoryStore(path)
    try:
        assert as_points(again.read()) == [(1, T0, 1.0), (2, T0, 2.0)]
        assert again.write(ReadingBatch.of([1], [T0], [1.0])) == 0
    finally:
        again.close()


def test_sqlite_write_survives_process_exit_without_close(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    script = textwrap.dedent(
        f"""
        import os
        from ingest.historystores.sqlite import SqliteHistoryStore
        from lifesign.readings import ReadingBatch
        store = SqliteHistoryStore({str(path)!r})
        store.write(ReadingBatch.of([7, 7], [{T0}, {T0 + 900}], [3.5, 3.75]))
        os._exit(0)  # no close, no atexit, no WAL checkpoint: like kill -9 right after write()
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    assert (tmp_path / "history.sqlite-wal").exists()  # the data is only in the WAL
    reopened = SqliteHistoryStore(path)
    try:
        assert as_points(reopened.read()) == [(7, T0, 3.5), (7, T0 + 900, 3.75)]
    finally:
        reopened.close()


def test_sqlite_another_connection_reads_while_the_writer_stays_open(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    writer = SqliteHistoryStore(path)
    reader = SqliteHistoryStore(path)  # the CLI, in its own process in real life
    try:
        writer.write(ReadingBatch.of([1], [T0], [1.0]))
        assert reader.count() == 1
        writer.write(ReadingBatch.of([1], [T0 + 1], [1.1]))
        assert as_points(reader.read(start=T0 + 1)) == [(1, T0 + 1, 1.1)]
    finally:
        reader.close()
        writer.close()


def test_sqlite_schema_is_wal_without_rowid(tmp_path: Path) -> None:
    import sqlite3

    SqliteHistoryStore(tmp_path / "h.sqlite").close()
    conn = sqlite3.connect(tmp_path / "h.sqlite")
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'readings'").fetchone()[0]
        assert "WITHOUT ROWID" in sql and "PRIMARY KEY (meter, ts)" in sql
    finally:
        conn.close()
    assert os.path.exists(tmp_path / "h.sqlite")
