"""The service killed with SIGKILL at chosen points of its write path while a gateway
stream runs through a real mosquitto, and restarted by its own restart path: nothing
published is lost, nothing is stored twice, and the detector state equals one
recomputed from the store.

The kill points are named, not timed (``LIFESIGN_FAULT``, ingest/faults.py): each
killed run dies at the first batch that reaches its point, with messages still queued
behind it, however fast or slow the machine is.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from crashkit import ServiceProcess, StreamPublisher, gateway_registry
from ingest_testkit import default_thresholds, state_arrays
from probes import eventually

from detectors.detector import Detector
from ingest.faults import POINTS
from ingest.historystores.framelog import read_frames
from ingest.historystores.segments import SegmentHistoryStore

pytestmark = pytest.mark.mosquitto

ROUNDS = 100  # x 1,000 meters = 100,000 readings in 1,000 messages
KILLS = 10
#: rounds published while each killed run lives: at most 40 of 100 before the last run
MAX_ROUNDS_PER_KILLED_RUN = 4
#: a bound on storing what was published (a hang fails; never a speed assertion)
STORED_TIMEOUT_S = 240.0
#: when each home is looked at next: the service sweeps as data arrives, so this depends on
#: when its sweeps ran, not on the readings (the recomputation below never sweeps)
SWEEP_SCHEDULE = {"households.next_check"}


@pytest.mark.timeout(900)
def test_sigkill_at_chosen_points_loses_nothing_and_stores_nothing_twice(
    mosquitto_port: int, tmp_path: Path, service_processes: Callable[..., ServiceProcess]
) -> None:
    rng = random.Random(20261121)
    registry = gateway_registry(gateways=10, homes_per_gateway=50)  # 1,000 meters
    registry.write(tmp_path / "households.csv", tmp_path / "meters.csv")
    child = service_processes(tmp_path, mosquitto_port)
    data_dir = child.data_dir
    publisher = StreamPublisher(mosquitto_port, registry, ROUNDS, start_ts=time.time() - ROUNDS * 60.0,
                                step_s=60.0, pace_s=0.0, seed=5)
    try:
        # every point at least twice, in a seeded order
        points = [POINTS[i % len(POINTS)] for i in range(KILLS)]
        rng.shuffle(points)
        for point in points:
            # The run subscribes, gets what the last one left unacked plus a few new rounds
            # (so it always has a batch to die on), and dies at its first batch passing `point`.
            child.start(fault=f"{point}:1")
            publisher.publish(rng.randint(1, MAX_ROUNDS_PER_KILLED_RUN))
            child.wait_killed()
        published_before_last_run = len(publisher.sent)
        assert published_before_last_run <= KILLS * MAX_ROUNDS_PER_KILLED_RUN * registry.n_meters

        child.start()
        publisher.publish(ROUNDS)  # the rest of the stream, applied live by the last run
        assert len(publisher.sent) == 100_000

        reader = SegmentHistoryStore(data_dir / "history", [str(m) for m in registry.meter_ids], read_only=True)
        eventually(lambda: reader.count() == len(publisher.sent), "every published reading stored",
                   timeout=STORED_TIMEOUT_S)
        child.terminate()  # dumps its detector state
    finally:
        publisher.close()

    stored = reader.read()
    got = {(str(registry.meter_ids[m]), t): v for m, t, v in zip(stored.meter.tolist(), stored.ts.tolist(), stored.value.tolist())}
    assert got == publisher.sent
    # exactly once on disk, not only after the read's deduplication
    frames = [f for log in sorted((data_dir / "history").glob("*.log")) for f in read_frames(log)]
    keys = np.concatenate([f.code.astype(np.int64) * 10**12 + np.rint(f.ts * 1000).astype(np.int64) for f in frames])
    assert len(keys) == len(np.unique(keys)) == 100_000

    # no run stored more than its share (counts of runs that lived to write their counters)
    runs = [json.loads(p.read_text()) for p in data_dir.glob("counters-*.json")]
    assert sum(r["readings_stored"] for r in runs) <= 100_000

    # the last run applied most of the stream live (not only rebuilt it from the store), so
    # the comparison below checks the live path against a recomputation
    assert child.replayed <= published_before_last_run < 50_000, child.replayed
    recomputed = Detector(registry, default_thresholds())
    recomputed.observe(stored)
    live = np.load(child.dump)
    expected = state_arrays(recomputed)
    assert set(live.files) == set(expected)
    for name, array in expected.items():
        if name in SWEEP_SCHEDULE:
            continue
        assert np.array_equal(live[name], array, equal_nan=True), f"detector state {name} differs"


def test_death_between_durable_write_and_ack_is_redelivered_counted_and_not_stored_twice(
    mosquitto_port: int, tmp_path: Path, service_processes: Callable[..., ServiceProcess]
) -> None:
    registry = gateway_registry(gateways=2, homes_per_gateway=10)
    registry.write(tmp_path / "households.csv", tmp_path / "meters.csv")
    child = service_processes(tmp_path, mosquitto_port)
    data_dir = child.data_dir
    publisher = StreamPublisher(mosquitto_port, registry, 1, start_ts=time.time() - 600, step_s=60.0, pace_s=0, seed=1)
    try:
        # dies after its first batch is durable and seen by the detector, before the ack
        child.start(fault="before_ack:1")
        publisher.publish(1)
        child.wait_killed()
        ids = [str(m) for m in registry.meter_ids]
        written = SegmentHistoryStore(data_dir / "history", ids, read_only=True).count()
        assert written > 0

        child.start()
        reader = SegmentHistoryStore(data_dir / "history", ids, read_only=True)
        eventually(lambda: reader.count() == 40, "both gateways' messages stored", timeout=STORED_TIMEOUT_S)
        assert child.proc is not None
        counters = data_dir / f"counters-{child.proc.pid}.json"
        eventually(lambda: counters.exists() and json.loads(counters.read_text())["messages_acked"] >= 1,
                   "the redelivery acked", timeout=STORED_TIMEOUT_S)
        child.terminate()
    finally:
        publisher.close()
    after = json.loads(counters.read_text())
    assert after["duplicates"] == written  # the redelivered message, recognised
    assert after["readings_stored"] == 40 - written
    frames = [f for log in (data_dir / "history").glob("*.log") for f in read_frames(log)]
    assert sum(len(f) for f in frames) == 40
