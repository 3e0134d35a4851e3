"""SIGKILL at random moments during escalation, in seeded trials: after the restarts no
escalation step is skipped or taken twice, no order is duplicated, and every step's
notification reaches a real HTTP receiver in the test process (by idempotency key)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from brokers import free_port
from receiver import Receiver

from dispatch.assign import Assigner
from dispatch.delivering import idempotency_key
from dispatch.orderstores import SqliteWorkOrderStore
from lifesign.registry import Registry
from lifesign.roster import Roster

CHILD = Path(__file__).resolve().parent / "escalation_child.py"
REPO = Path(__file__).resolve().parents[2]
SEEDS = range(10)
SPEED = 1500.0
KILLS_PER_TRIAL = 2
FINISH_TIMEOUT_S = 60.0  # an upper bound so a hang fails, not a speed assertion


@dataclass
class Trial:
    seed: int
    kills: int
    duplicates: int
    #: escalation steps already in the ledger at each kill, and in the end
    steps_at_kills: list[int]
    steps_in_the_end: int


def escalation_steps(data_dir: Path) -> int:
    path = data_dir / "orders.sqlite"
    if not path.exists():
        return 0
    store = SqliteWorkOrderStore(path)
    try:
        return sum(1 for e in store.ledger() if e.action == "escalated")
    finally:
        store.close()


def run_child(data_dir: Path, url: str, base_wall: float) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, str(CHILD), str(data_dir), url, repr(base_wall), repr(SPEED)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)


def wait_ready(child: subprocess.Popen[str]) -> None:
    assert child.stdout is not None
    line = child.stdout.readline()
    assert line.strip() == "ready", f"child did not start: {line!r} {child.stderr.read() if child.stderr else ''}"


def trial(seed: int, tmp: Path, http: Receiver, registry: Registry, roster: Roster) -> Trial:
    rng = random.Random(seed)
    data_dir = tmp / f"trial-{seed}"
    data_dir.mkdir()
    url = f"{http.url}/trial-{seed}"
    base_wall = time.time()
    kills = 0
    steps_at_kills = []
    for _ in range(KILLS_PER_TRIAL):
        child = run_child(data_dir, url, base_wall)
        wait_ready(child)
        time.sleep(rng.uniform(0.0, 0.5))  # somewhere in opening, delivering, escalating
        if child.poll() is None:
            child.send_signal(signal.SIGKILL)
            kills += 1
        child.wait()
        steps_at_kills.append(escalation_steps(data_dir))
    child = run_child(data_dir, url, base_wall)
    wait_ready(child)
    _, err = child.communicate(timeout=FINISH_TIMEOUT_S)
    assert child.returncode == 0, err

    store = SqliteWorkOrderStore(data_dir / "orders.sqlite")
    try:
        orders = store.list()
        assert sorted(o.household_id for o in orders) == ["H0001", "H0002", "H0003"]  # none duplicated
        assigner = Assigner(roster, registry)
        expected_keys = set()
        for order in orders:
            chain = [w.worker_id for w in assigner.chain(order.household_id, "no_usage", None)]
            steps = [e.note for e in store.ledger(order.order_id) if e.action == "escalated"]
            # every step once, in order: level k moves chain[k-1] -> chain[k]
            assert steps == [f"level {k}: {chain[k - 1]} -> {chain[k]}; not acknowledged within "
                             f"{s.split('within ')[1]}" for k, s in enumerate(steps, start=1)]
            assert len(steps) == len(chain) - 1, (seed, order.household_id, steps)
            rows = Counter((d.escalation_level, d.recipient) for d in store.deliveries(order.order_id)
                           if d.delivered_at is not None)
            assert rows == Counter({(k, w): 1 for k, w in enumerate(chain)})
            expected_keys |= {idempotency_key(order.order_id, k, "webhook") for k in range(len(chain))}
    finally:
        store.close()
    received = http.counts(f"/trial-{seed}")
    assert set(received) == expected_keys, seed
    # A kill between the receiver's reply and the commit of "delivered" resends that one
    # delivery after the restart (same idempotency key): at most one per kill.
    duplicates = sum(received.values()) - len(received)
    assert duplicates <= kills, (seed, received)
    return Trial(seed, kills, duplicates, steps_at_kills, escalation_steps(data_dir))


def test_sigkill_during_escalation_neither_skips_nor_repeats_a_step(
    tmp_path: Path, registry: Registry, roster: Roster
) -> None:
    http = Receiver(free_port())
    http.start()
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:  # two trials at a time on two cores
            trials = list(pool.map(lambda s: trial(s, tmp_path, http, registry, roster), SEEDS))
    finally:
        http.stop()
    assert len(trials) == 10
    assert sum(t.kills for t in trials) >= 10  # the kills really happened mid-run
    # and some of them in the middle of escalating: some steps taken, others still to come
    mid = [(t.seed, k) for t in trials for k in t.steps_at_kills if 0 < k < t.steps_in_the_end]
    assert len(mid) >= 3, [(t.steps_at_kills, t.steps_in_the_end) for t in trials]
    print("kills:", sum(t.kills for t in trials), "mid-escalation:", len(mid),
          "receiver duplicates:", sum(t.duplicates for t in trials))


@pytest.fixture
def registry() -> Registry:
    from escalation_child import registry as child_registry

    return child_registry()
