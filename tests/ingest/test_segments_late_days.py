"""Late readings for compacted days in the embedded store: side segments, merged off the
ingest path, bounded in number, and safe against a crash at every step of compaction.

Expected readings come from a plain dict kept beside the writes (the first value
written for a (meter, ts) wins), never from the store under test.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from probes import eventually

from ingest.historystores.dayfiles import SWAP_LOCK, files_held, list_days, read_file
from ingest.historystores.segments import SegmentHistoryStore, day_name
from lifesign.readings import ReadingBatch

T0 = 1_763_700_000.0
DAY = 86400.0
TODAY = int(T0 // DAY)
METER_IDS = [f"M{i:03d}" for i in range(64)]
#: bounds on a hang (a write stuck behind the day rewrite fails the test); never a speed claim
HANG_S = 60.0

Key = tuple[int, float]


class Ledger:
    """What was written, in order: the first value for a key is the one a store keeps."""

    def __init__(self) -> None:
        self.first: dict[Key, float] = {}

    def wrote(self, batch: ReadingBatch) -> None:
        for m, t, v in zip(batch.meter.tolist(), batch.ts.tolist(), batch.value.tolist()):
            self.first.setdefault((m, t), v)

    def matches(self, got: ReadingBatch) -> bool:
        points = list(zip(got.meter.tolist(), got.ts.tolist(), got.value.tolist()))
        return len(points) == len(self.first) and {(m, t): v for m, t, v in points} == self.first


def write(store: SegmentHistoryStore, ledger: Ledger, batch: ReadingBatch) -> None:
    store.write(batch)
    ledger.wrote(batch)


def day_readings(day: int, meters: range, per_meter: int, offset_s: float = 0.0, seed: int = 0) -> ReadingBatch:
    """``per_meter`` readings for each meter, evenly over the UTC day ``day``."""
    step = DAY / per_meter
    m = np.repeat(np.array(meters), per_meter)
    t = day * DAY + offset_s + np.tile(np.arange(per_meter) * step, len(meters))
    v = np.round(np.random.default_rng(seed).random(len(m)) * 100, 3)
    return ReadingBatch.of(m, t, v)


def today_batch(i: int) -> ReadingBatch:
    return ReadingBatch.of(list(range(8)), [TODAY * DAY + 60.0 * i] * 8, [float(i)] * 8)


def files_of(folder: Path, day: int) -> list[str]:
    return sorted(p.name for p in folder.glob(f"{day_name(day)}.*"))


def sides_of(folder: Path, day: int) -> list[str]:
    return [n for n in files_of(folder, day) if ".late-" in n]


def writes_return(store: SegmentHistoryStore, batches: list[ReadingBatch]) -> bool:
    """Writes ``batches`` from a thread of their own, as ingest's worker would: True once
    every write returned, False if one hangs."""
    wrote = threading.Event()

    def ingest() -> None:
        for batch in batches:
            store.write(batch)
        wrote.set()

    threading.Thread(target=ingest, daemon=True).start()
    return wrote.wait(HANG_S)


class Gate:
    """A fault point that holds compaction at one point until released: a day rewrite on
    a slow disk, as long as the test wants it."""

    def __init__(self, point: str) -> None:
        self.point = point
        self.reached = threading.Event()
        self.release = threading.Event()

    def __call__(self, point: str) -> None:
        if point == self.point:
            self.reached.set()
            self.release.wait()


@pytest.fixture
def gate() -> Iterator[Gate]:
    made = Gate("before_day_rewrite")
    yield made
    made.release.set()  # never leave a compaction thread waiting, whatever the test did


def test_late_writes_and_later_batches_return_while_the_day_rewrite_is_held(tmp_path: Path, gate: Gate) -> None:
    folder = tmp_path / "h"
    store = SegmentHistoryStore(folder, METER_IDS, max_late_segments=1, fault_point=gate)
    ledger = Ledger()
    old = TODAY - 5
    write(store, ledger, day_readings(old, range(64), 1440, seed=1))  # 92,160 readings: minute data
    gate.release.set()  # the first compaction of the day goes through
    assert store.compact(now=T0) == 1 and files_of(folder, old) == [f"{day_name(old)}.parquet"]
    gate.release.clear()
    gate.reached.clear()

    # gateways back after days away: their 16 meters' backlog for the compacted day, in two passes
    backlog = day_readings(old, range(16), 1440, offset_s=30.0, seed=2)
    write(store, ledger, backlog.take(np.arange(0, 10_000)))
    store.compact(now=T0)
    # side numbers never repeat in a day: 1 was the log of its first compaction
    assert sides_of(folder, old) == [f"{day_name(old)}.late-2.parquet"]
    write(store, ledger, backlog.take(np.arange(10_000, len(backlog))))

    # this pass seals the second part, finds 2 side segments (> 1) holding more than 1/8 of
    # the day, and starts rewriting the day: the gate holds it there
    compaction = threading.Thread(target=store.compact, kwargs={"now": T0}, daemon=True)
    compaction.start()
    assert gate.reached.wait(HANG_S), "compaction never reached the day rewrite"

    resend = backlog.take(np.arange(0, 50))  # same keys, other values: the first written must stay
    resend = ReadingBatch(resend.meter, resend.ts, resend.value + 1000.0)
    later = [ReadingBatch.of([9], [old * DAY + 17.0], [1.5]), resend, *(today_batch(i) for i in range(5))]
    assert writes_return(store, later), "a write waited for the day rewrite"
    for batch in later:
        ledger.wrote(batch)
    assert compaction.is_alive() and not gate.release.is_set()  # the rewrite is still held
    assert ledger.matches(store.read())  # readers see everything meanwhile, each reading once

    gate.release.set()
    compaction.join(HANG_S)
    assert not compaction.is_alive()
    assert ledger.matches(store.read())
    # the rewritten day holds the day and both backlog parts; what came during the rewrite
    # waits in the live log, then in a side segment of its own
    assert files_of(folder, old) == [f"{day_name(old)}.log", f"{day_name(old)}.parquet"]
    (day_file,) = list_days(folder)[old].in_write_order()[:1]
    (frame,) = read_file(day_file)
    assert len(frame) == 92_160 + len(backlog)
    assert len(set(zip(frame.code.tolist(), frame.ts.tolist()))) == len(frame)  # on disk once each
    store.compact(now=T0)
    assert files_of(folder, old) == [f"{day_name(old)}.late-4.parquet", f"{day_name(old)}.parquet"]
    assert ledger.matches(store.read())
    store.close()


def test_side_segments_stay_bounded_and_only_a_large_backlog_rewrites_the_day(tmp_path: Path) -> None:
    folder = tmp_path / "h"
    store = SegmentHistoryStore(folder, METER_IDS, max_late_segments=2)
    ledger = Ledger()
    old = TODAY - 4
    write(store, ledger, day_readings(old, range(64), 96))  # 6,144 readings
    store.compact(now=T0)
    day_inode = (folder / f"{day_name(old)}.parquet").stat().st_ino
    for i in range(7):  # one late reading per pass: small beside the day
        write(store, ledger, ReadingBatch.of([i % 64], [old * DAY + 7.0 + i], [0.5 + i]))
        assert store.compact(now=T0) == 1
        assert 1 <= len(sides_of(folder, old)) <= 2
        assert not (folder / f"{day_name(old)}.log").exists()
        assert ledger.matches(store.read())
    # small sides merged among themselves: the day file itself was never rewritten
    assert (folder / f"{day_name(old)}.parquet").stat().st_ino == day_inode
    assert store.compact(now=T0) == 0  # nothing new: nothing to do

    # a large backlog (over 1/8 of the day) in more side segments than allowed: into the day
    for part in np.array_split(np.arange(64 * 24), 2):
        write(store, ledger, day_readings(old, range(64), 24, offset_s=450.0, seed=3).take(part))
        store.compact(now=T0)
    assert sides_of(folder, old) == []
    assert (folder / f"{day_name(old)}.parquet").stat().st_ino != day_inode
    assert ledger.matches(store.read())
    store.close()


def waits_for_flock(path: Path) -> bool:
    """Some process or thread is blocked on a flock of ``path`` (the kernel's /proc/locks)."""
    inode = path.stat().st_ino
    # a blocked request reads "1: -> FLOCK  ADVISORY  WRITE <pid> <major>:<minor>:<inode> 0 EOF"
    return any("->" in line and f":{inode} " in line for line in Path("/proc/locks").read_text().splitlines())


def test_a_long_read_holds_compaction_back_but_never_ingest(tmp_path: Path) -> None:
    folder = tmp_path / "h"
    store = SegmentHistoryStore(folder, METER_IDS)
    ledger = Ledger()
    old = TODAY - 3
    write(store, ledger, day_readings(old, range(4), 4))
    store.compact(now=T0)
    write(store, ledger, ReadingBatch.of([5], [old * DAY + 1.0], [1.0]))
    with files_held(folder, exclusive=False):  # a reader in the middle of a long read
        listed = files_of(folder, old)
        compaction = threading.Thread(target=store.compact, kwargs={"now": T0}, daemon=True)
        compaction.start()
        eventually(lambda: waits_for_flock(folder / SWAP_LOCK), "compaction waiting for the reader")
        later = [ReadingBatch.of([6], [old * DAY + 2.0], [2.0]), today_batch(0)]
        assert writes_return(store, later), "a write waited for a reader"
        for batch in later:
            ledger.wrote(batch)
        assert files_of(folder, old) == listed  # nothing renamed under the reader
    compaction.join(HANG_S)
    assert sides_of(folder, old) == [f"{day_name(old)}.late-2.parquet"]
    assert ledger.matches(store.read())
    store.close()


def test_readers_during_writes_and_compaction_see_everything_written_before_they_began(tmp_path: Path) -> None:
    folder = tmp_path / "h"
    store = SegmentHistoryStore(folder, METER_IDS, max_late_segments=1)
    reader = SegmentHistoryStore(folder, METER_IDS, read_only=True)  # the CLI beside the service
    ledger = Ledger()
    days = [TODAY - 4, TODAY - 3]
    for day in days:  # small days, so late readings soon outweigh them and rewrite them too
        write(store, ledger, day_readings(day, range(64), 2, seed=day))
    store.compact(now=T0)
    written: list[dict[Key, float]] = [dict(ledger.first)]  # snapshots, each after a write returned
    done = threading.Event()

    def ingest() -> None:
        try:
            for i in range(120):
                late = ReadingBatch.of([i % 64, (i + 1) % 64], [days[i % 2] * DAY + 11.0 + i] * 2, [float(i)] * 2)
                for batch in (late, today_batch(i)):
                    write(store, ledger, batch)
                written.append(dict(ledger.first))
        finally:
            done.set()

    def compact() -> None:
        while not done.is_set():
            store.compact(now=T0)

    threads = [threading.Thread(target=ingest, daemon=True), threading.Thread(target=compact, daemon=True)]
    for t in threads:
        t.start()
    reads = 0
    while not done.is_set() or reads < 3:
        before = written[-1]
        got = reader.read()
        points = {(m, t): v for m, t, v in zip(got.meter.tolist(), got.ts.tolist(), got.value.tolist())}
        assert len(points) == len(got)  # each reading once
        assert all(points.get(k) == v for k, v in before.items()), "a read missed readings written before it"
        reads += 1
    for t in threads:
        t.join(HANG_S)
    store.compact(now=T0)
    assert ledger.matches(store.read()) and ledger.matches(reader.read())
    reader.close()
    store.close()


# -- crash at every point of compaction ------------------------------------------------

#: days of the crash scenario, and what one compaction pass does with each
#: (with max_late_segments=2): D0 rewrites its day with 3 side segments holding a large
#: backlog; D1 turns its sealed log into a side Parquet; D2 merges 3 small side segments
#: into one; D3 is compacted for the first time
D0, D1, D2, D3 = TODAY - 6, TODAY - 5, TODAY - 4, TODAY - 3
CRASH_POINTS = [
    "after_seal:1", "before_day_rewrite:1", "after_day_rewrite:1",  # D0
    "after_seal:2", "after_side_rewrite:1",  # D1
    "after_side_rewrite:2",  # D2
    "after_seal:4", "before_day_rewrite:2", "after_day_rewrite:2",  # D3
]


def crash_scenario(folder: Path) -> Ledger:
    """Each day in the state its compaction step needs, the next pass still to run."""
    ledger = Ledger()
    store = SegmentHistoryStore(folder, METER_IDS, max_late_segments=2)
    for day in (D0, D1, D2):
        write(store, ledger, day_readings(day, range(64), 96, seed=day))
    store.compact(now=T0)
    big = day_readings(D0, range(64), 24, offset_s=100.0, seed=9)  # 1,536: a quarter of the day
    write(store, ledger, big.take(np.arange(0, 500)))
    write(store, ledger, ReadingBatch.of([1], [D1 * DAY + 5.0], [1.0]))
    write(store, ledger, ReadingBatch.of([2], [D2 * DAY + 5.0], [2.0]))
    store.compact(now=T0)
    write(store, ledger, big.take(np.arange(500, 1000)))
    write(store, ledger, ReadingBatch.of([3], [D2 * DAY + 6.0], [3.0]))
    store.compact(now=T0)
    # left for the pass that crashes: the live logs, resends with other values among them
    resend = big.take(np.arange(0, 20))
    write(store, ledger, ReadingBatch(resend.meter, resend.ts, resend.value + 500.0))
    write(store, ledger, big.take(np.arange(1000, len(big))))
    write(store, ledger, ReadingBatch.of([4, 1], [D1 * DAY + 6.0, D1 * DAY + 5.0], [4.0, 99.0]))
    write(store, ledger, ReadingBatch.of([5], [D2 * DAY + 7.0], [5.0]))
    write(store, ledger, day_readings(D3, range(64), 96, seed=D3))
    write(store, ledger, today_batch(0))
    store.close()
    assert [len(sides_of(folder, d)) for d in (D0, D1, D2, D3)] == [2, 1, 2, 0]
    return ledger


@pytest.mark.parametrize("fault", CRASH_POINTS)
def test_sigkill_at_each_point_of_compaction_loses_nothing_and_keeps_nothing_twice(tmp_path: Path, fault: str) -> None:
    folder = tmp_path / "h"
    ledger = crash_scenario(folder)
    script = textwrap.dedent(
        f"""
        from ingest.historystores.segments import SegmentHistoryStore
        store = SegmentHistoryStore({str(folder)!r}, {METER_IDS!r}, max_late_segments=2)
        store.compact(now={T0})
        """
    )
    died = subprocess.run([sys.executable, "-c", script], env={**os.environ, "LIFESIGN_FAULT": fault}, timeout=120,
                          check=False)
    assert died.returncode == -signal.SIGKILL, f"compaction never reached {fault}"

    reader = SegmentHistoryStore(folder, METER_IDS, read_only=True)
    assert ledger.matches(reader.read())  # right after the crash: every reading, once
    store = SegmentHistoryStore(folder, METER_IDS, max_late_segments=2)
    store.compact(now=T0)  # the pass again, to its end
    assert ledger.matches(store.read()) and ledger.matches(reader.read())
    assert not list(folder.glob("*.tmp"))
    assert [files_of(folder, d) for d in (D0, D1, D2, D3)] == [
        [f"{day_name(D0)}.parquet"],
        [f"{day_name(D1)}.late-2.parquet", f"{day_name(D1)}.late-3.parquet", f"{day_name(D1)}.parquet"],
        [f"{day_name(D2)}.late-2.parquet", f"{day_name(D2)}.parquet"],
        [f"{day_name(D3)}.parquet"],
    ]
    for day in (D0, D3):  # rewritten days hold each reading once on disk, not only after the read
        (frame,) = read_file(list_days(folder)[day].in_write_order()[0])
        keys = set(zip(frame.code.tolist(), frame.ts.tolist()))
        assert len(keys) == len(frame) == sum(1 for m, t in ledger.first if int(t // DAY) == day)
    reader.close()
    store.close()


def test_a_negative_side_segment_bound_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="max_late_segments must be >= 0, got -1"):
        SegmentHistoryStore(tmp_path / "h", METER_IDS, max_late_segments=-1)
