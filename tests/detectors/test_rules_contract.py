"""One contract for every rule: the same episodes whatever the order, split,
duplication or lateness of the readings, clock jumps, or meters appearing late."""

from __future__ import annotations

import numpy as np
import pytest
from homes import DAY, HOMES, SCENARIOS, T0, THRESHOLDS, H, hourly_chunks, readings, registry

from detectors.detector import Detector, all_rules
from detectors.thresholds import Thresholds
from lifesign.alerts import Alert, AlertState
from lifesign.readings import ReadingBatch
from lifesign.registry import Registry

NAMES = sorted(SCENARIOS)


def replay(reg: Registry, chunks: list[tuple[float, ReadingBatch]], *, sweep_at=None) -> list[Alert]:
    detector = Detector(reg, Thresholds.parse(THRESHOLDS))
    alerts: list[Alert] = []
    for k, (end, batch) in enumerate(chunks):
        detector.observe(batch)
        alerts += detector.sweep(end if sweep_at is None else sweep_at(k, end))
    return alerts


def episodes(alerts: list[Alert]) -> list[tuple[str, str, float, str, str]]:
    return sorted((a.household_id, a.rule, a.key.episode_start, a.state.value, a.severity.value) for a in alerts)


def test_every_rule_has_a_scenario() -> None:
    assert {rule.slot for rule in all_rules()} == {s.slot for s in SCENARIOS.values()}


@pytest.mark.parametrize("name", NAMES)
def test_the_anomaly_opens_and_clears_exactly_one_episode_of_its_rule(name: str) -> None:
    scenario = SCENARIOS[name]
    reg = registry()
    alerts = replay(reg, hourly_chunks(readings(reg, name)))
    assert [(a.household_id, a.rule, a.state) for a in alerts] == [
        (scenario.household, scenario.rule, AlertState.OPENED), (scenario.household, scenario.rule, AlertState.CLEARED)]
    opened, cleared = alerts
    assert opened.key == cleared.key
    assert opened.severity.value == scenario.severity
    assert opened.utilities == scenario.utilities
    assert opened.at < cleared.at
    assert opened.evidence  # every alert carries numbers a person can judge


@pytest.mark.parametrize("name", NAMES)
def test_shuffled_meter_order_and_any_batch_split_give_the_same_episodes(name: str) -> None:
    reg = registry()
    chunks = hourly_chunks(readings(reg, name))
    reference = episodes(replay(reg, chunks))
    rng = np.random.default_rng(5)
    shuffled = []
    for end, batch in chunks:
        # each meter's readings stay in time order (as a gateway sends them); meters are shuffled
        rounds = np.unique(batch.ts)
        for part in np.array_split(rounds, int(rng.integers(1, 4))):
            rows = np.flatnonzero(np.isin(batch.ts, part))
            shuffled.append((end, batch.take(rng.permutation(rows))))
    # several observes before one sweep at the same time: sweep only on the last part of each hour
    detector = Detector(reg, Thresholds.parse(THRESHOLDS))
    alerts = []
    for k, (end, batch) in enumerate(shuffled):
        detector.observe(batch)
        if k + 1 == len(shuffled) or shuffled[k + 1][0] != end:
            alerts += detector.sweep(end)
    assert episodes(alerts) == reference


@pytest.mark.parametrize("name", NAMES)
def test_duplicate_and_late_readings_never_move_state_backwards(name: str) -> None:
    reg = registry()
    chunks = hourly_chunks(readings(reg, name))
    reference = episodes(replay(reg, chunks))
    noisy = []
    for k, (end, batch) in enumerate(chunks):
        extra = [batch]
        if k >= 3:
            extra.append(chunks[k - 3][1])  # three hours late, replayed whole
        extra.append(batch.take(np.arange(0, len(batch), 2)))  # duplicates of this hour
        noisy.append((end, ReadingBatch.concat(extra)))
    assert episodes(replay(reg, noisy)) == reference


@pytest.mark.parametrize("name", NAMES)
def test_clock_jumps_forward_and_back_give_the_same_episodes(name: str) -> None:
    reg = registry()
    chunks = hourly_chunks(readings(reg, name))
    reference = episodes(replay(reg, chunks))

    def jumpy(k: int, end: float) -> float:
        return end + (30 * DAY if k % 7 == 3 else -5 * DAY if k % 7 == 5 else 0.0)

    assert episodes(replay(reg, chunks, sweep_at=jumpy)) == reference


@pytest.mark.parametrize("name", NAMES)
def test_meters_appearing_mid_run_raise_nothing_and_change_nothing_else(name: str) -> None:
    reference_reg = registry()
    reference = episodes(replay(reference_reg, hourly_chunks(readings(reference_reg, name))))
    reg = registry(extra_homes=3)  # N0..N2 registered from the start...
    late = readings(reg, name, late_meter_home="N1")  # ...N1's meters report only from day 2
    assert episodes(replay(reg, hourly_chunks(late))) == reference


def test_a_home_whose_meters_all_stop_is_offline_not_silent() -> None:
    reg = registry()
    batch = readings(reg, "no_usage")
    gone = [reg.meter_index["W-H1"], reg.meter_index["E-H1"]]
    cut = ~(np.isin(batch.meter, gone) & (batch.ts > T0 + DAY + 9 * H))
    alerts = replay(reg, hourly_chunks(batch.take(np.flatnonzero(cut))))
    h1 = [(a.rule, a.state, a.utilities) for a in alerts if a.household_id == "H1"]
    assert h1 == [("meter_offline", AlertState.OPENED, ("electricity", "water"))]


def test_homes_living_normally_raise_nothing() -> None:
    reg = registry(extra_homes=4)
    alerts = replay(reg, hourly_chunks(readings(reg, "no_usage")))
    assert {a.household_id for a in alerts} == {"H2"}
    assert set(HOMES) - {"H2"} <= set(reg.household_index)
