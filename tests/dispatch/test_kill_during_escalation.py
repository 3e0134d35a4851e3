"""SIGKILL during escalation, in seeded trials: after the restarts no escalation step is
skipped or taken twice, no order is duplicated, and every step's notification reaches a
real HTTP receiver in the test process (by idempotency key).

Each kill comes after a seeded number of escalation steps, counted in the ledger by the
test, so every kill lands in the middle of a chain however busy the machine is. The
chain each order must climb is the test's own reading of the roster (dispatch_grid).
"""

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
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from brokers import free_port
from dispatch_grid import HOUSEHOLDS, ROSTER_YAML
from receiver import Receiver

from dispatch.delivering import idempotency_key
from dispatch.orderstores import SqliteWorkOrderStore

CHILD = Path(__file__).resolve().parent / "escalation_child.py"
REPO = Path(__file__).resolve().parents[2]
SEEDS = range(10)
SPEED = 1500.0
KILLS_PER_TRIAL = 2
FINISH_TIMEOUT_S = 120.0  # an upper bound so a hang fails, not a speed assertion
WATCHED = ("H0001", "H0002", "H0003")


def expected_chains() -> dict[str, list[str]]:
    """Who holds each level of a no-usage order, read from the roster by the test itself:
    the grid worker of the home's building, the leader of its grid, the duty desk of its
    community (each only if someone covers it), then the resident's emergency contact."""
    workers = yaml.safe_load(ROSTER_YAML)["workers"]
    # nobody has shifts, leave or a backup: who holds a level does not depend on the hour
    assert not any({"shifts", "leave", "backup"} & set(w) for w in workers)

    def covering(role: str, field: str, place: str) -> list[str]:
        return [w["id"] for w in workers if w["role"] == role and place in w.get(field, [])]

    chains = {}
    for home in (h for h in HOUSEHOLDS if h.household_id in WATCHED):
        address = home.address
        chains[home.household_id] = [
            *covering("grid_worker", "buildings", address.building),
            *covering("grid_leader", "grids", address.grid),
            *covering("duty_desk", "communities", address.community),
            f"contact:{home.household_id}",  # the emergency contact's recipient id
        ]
    return chains


CHAINS = expected_chains()
#: escalation steps until every watched order has climbed its whole chain
TOTAL_STEPS = sum(len(chain) - 1 for chain in CHAINS.values())


@dataclass
class Trial:
    seed: int
    kills: int
    duplicates: int
    #: escalation steps already in the ledger at each kill, and in the end
    steps_at_kills: list[int]
    steps_in_the_end: int


def escalation_steps(store: SqliteWorkOrderStore) -> int:
    return sum(1 for e in store.ledger() if e.action == "escalated")


def steps_in(data_dir: Path) -> int:
    path = data_dir / "orders.sqlite"
    if not path.exists():
        return 0
    store = SqliteWorkOrderStore(path)
    try:
        return escalation_steps(store)
    finally:
        store.close()


def run_child(data_dir: Path, url: str, base_wall: float) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, str(CHILD), str(data_dir), url, repr(base_wall), repr(SPEED)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)


def reap(child: subprocess.Popen[str]) -> None:
    if child.poll() is None:
        child.kill()
    child.communicate()


def wait_ready(child: subprocess.Popen[str]) -> None:
    assert child.stdout is not None
    line = child.stdout.readline()
    assert line.strip() == "ready", f"child did not start: {line!r} {child.stderr.read() if child.stderr else ''}"


def kill_after_steps(child: subprocess.Popen[str], data_dir: Path, target: int) -> bool:
    """SIGKILL the child once the ledger holds ``target`` escalation steps; False if it
    finished its work and exited before that (only possible on a starved test process)."""
    store = SqliteWorkOrderStore(data_dir / "orders.sqlite")  # the child created it before "ready"
    try:
        deadline = time.monotonic() + FINISH_TIMEOUT_S
        while child.poll() is None and escalation_steps(store) < target:
            assert time.monotonic() < deadline, f"no escalation step {target} within {FINISH_TIMEOUT_S} s"
            time.sleep(0.01)
    finally:
        store.close()
    if child.poll() is not None:
        return False
    child.send_signal(signal.SIGKILL)
    return True


def trial(seed: int, tmp: Path, http: Receiver) -> Trial:
    rng = random.Random(seed)
    data_dir = tmp / f"trial-{seed}"
    data_dir.mkdir()
    url = f"{http.url}/trial-{seed}"
    base_wall = time.time()
    kills = 0
    steps_at_kills = []
    # seeded kill points in steps, each leaving at least two steps to take
    first = rng.randint(1, TOTAL_STEPS // 2)
    targets = [first, rng.randint(first + 1, TOTAL_STEPS - 2)][:KILLS_PER_TRIAL]
    for target in targets:
        child = run_child(data_dir, url, base_wall)
        try:
            wait_ready(child)
            kills += kill_after_steps(child, data_dir, target)
        finally:
            reap(child)
        steps_at_kills.append(steps_in(data_dir))
    child = run_child(data_dir, url, base_wall)
    try:
        wait_ready(child)
        _, err = child.communicate(timeout=FINISH_TIMEOUT_S)
    finally:
        reap(child)
    assert child.returncode == 0, err

    store = SqliteWorkOrderStore(data_dir / "orders.sqlite")
    try:
        orders = store.list()
        assert sorted(o.household_id for o in orders) == list(WATCHED)  # none duplicated
        expected_keys = set()
        for order in orders:
            chain = CHAINS[order.household_id]
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
    return Trial(seed, kills, duplicates, steps_at_kills, steps_in(data_dir))


def test_the_expected_chains_are_the_rosters() -> None:
    # the test's reading of the roster, spelled out: a grid without a leader skips that level
    assert CHAINS == {
        "H0001": ["gw-zhang", "gl-li", "desk-c1", "contact:H0001"],
        "H0002": ["gw-zhang", "gl-li", "desk-c1", "contact:H0002"],
        "H0003": ["gw-zhao", "desk-c1", "contact:H0003"],
    }


@pytest.mark.timeout(900)
def test_sigkill_during_escalation_neither_skips_nor_repeats_a_step(tmp_path: Path) -> None:
    http = Receiver(free_port())
    http.start()
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:  # two trials at a time on two cores
            trials = list(pool.map(lambda s: trial(s, tmp_path, http), SEEDS))
    finally:
        http.stop()
    assert len(trials) == 10
    # The kills really happened in the middle of escalating: some steps taken, others still
    # to come. A child escapes its kill only if the test process starves through two of its
    # steps; half the kills escaping would take that happening ten times.
    mid = [(t.seed, k) for t in trials for k in t.steps_at_kills if 0 < k < t.steps_in_the_end]
    assert sum(t.kills for t in trials) >= 10, [(t.steps_at_kills, t.steps_in_the_end) for t in trials]
    assert len(mid) >= 10, [(t.steps_at_kills, t.steps_in_the_end) for t in trials]
    print("kills:", sum(t.kills for t in trials), "mid-escalation:", len(mid),
          "receiver duplicates:", sum(t.duplicates for t in trials))

