"""`lifesign learn` fits the lamp rule's hours to how long this home's loads burn through its
silences (detectors/learning/lamp.py).

The home of test_left_on: supper at 18:00 (the kettle and the tap: the last sign of life of
the evening), a 60 W lamp on from then to bedtime, when the resident flushes and switches
it off. So every evening a load burns through a silence from 18:00 to bedtime: 2 h when
bedtime is 20:00, 4.5 h at 22:30. Expected hours follow from that schedule and the rule in
the module docstring (burn x 1.25 + 0.5 h, up to half hours, within [3 h, the configured
6 h]); the lamp is read on the mean of two intervals, so a burn may measure one interval short.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest
from test_left_on import SHANGHAI, STEP, H, Home, registry, thresholds

from detectors.learn import LearnSettings, OutcomeRecord, learn, replay_history, to_yaml
from detectors.learning import lamp
from detectors.thresholds import Layer, Thresholds
from lifesign.readings import ReadingBatch
from lifesign.registry import Registry

DAYS = 10
RHYTHM = LearnSettings(method="rhythm", archetypes=0)


def longest_burn_s(reg: Registry, batch: ReadingBatch, th: Thresholds) -> np.ndarray:
    """What learn measures: one replay of the history, then each home's longest burn."""
    batch = batch.sorted_by_meter_time()
    replayed = replay_history(reg, batch, th, left_on=True)
    return lamp.longest_burn_s(reg, batch, replayed.act_h, replayed.act_t, replayed.act_read, replayed.left_on)


def home(bedtime_h: float) -> Home:
    return Home(datetime(2026, 9, 1, tzinfo=SHANGHAI), lamp_after_fall=False, days=DAYS, bedtime_h=bedtime_h)


@pytest.mark.parametrize("bedtime_h", [20.0, 22.5])
def test_the_longest_burn_is_the_lamp_from_supper_to_bedtime(bedtime_h: float) -> None:
    reg, h = registry(), home(bedtime_h)
    burn = longest_burn_s(reg, h.readings(reg), thresholds())
    assert (bedtime_h - 18.0) * H - STEP <= burn[0] <= (bedtime_h - 18.0) * H


@pytest.mark.parametrize(("bedtime_h", "expected"), [(20.0, 3.0), (21.5, 5.0), (22.5, None)])
def test_learn_writes_the_lamp_hours_the_homes_evenings_allow(bedtime_h: float, expected: float | None) -> None:
    # 2 h: 3.0 (the floor); 3.5 h (or one interval less): 4.875 (4.5625) -> 5.0; 4.5 h: 6.0 or
    # more, no sooner than the configured 6 h, so nothing is written
    reg, h = registry(), home(bedtime_h)
    suggestion, = learn(reg, h.readings(reg), thresholds(), RHYTHM)
    assert suggestion.layer.left_on_hours == expected
    text = to_yaml([suggestion], "test", DAYS)
    if expected is None:
        assert "lamp rule" not in suggestion.reason and "left_on" not in text
        return
    assert f"lamp rule {expected:g} h" in suggestion.reason
    # the file an operator reviews says it, and reads back as written
    assert f"left_on: {{hours: {expected:g}}}" in text
    back = Thresholds.parse("defaults: {no_usage: {hours: 12}}\n" + text)  # as an included file's households
    assert back.households["H1"].left_on_hours == expected


def test_a_learned_file_already_included_does_not_cap_the_next_learning() -> None:
    # learned at 3 h once (2 h evenings); the evenings are now 3.5 h: the next learning says 5 h
    reg, h = registry(), home(21.5)
    included = thresholds().with_households({"H1": Layer(left_on_hours=3.0)})
    suggestion, = learn(reg, h.readings(reg), included, RHYTHM)
    assert suggestion.layer.left_on_hours == 5.0


def test_false_alarms_on_record_widen_the_lamp_too() -> None:
    # 2 h evenings: 3.0 h; with one false alarm on record the margin is 1.25 x 1.25: 2 x 1.5625
    # + 0.5 = 3.625 (or 1.75 h: 3.23) -> 4.0 (3.5); either way later than without
    reg, h = registry(), home(20.0)
    told, = learn(reg, h.readings(reg), thresholds(), RHYTHM, {"H1": OutcomeRecord(false_alarms=1)})
    assert told.layer.left_on_hours in (3.5, 4.0)


def test_the_learned_lamp_finds_the_same_fall_sooner() -> None:
    """What the learned hours are for: after the 2-hour evenings, a fall at supper with the
    lamp left burning alarms 3 h after the fall instead of 6."""
    from test_left_on import welfare_alarms

    from detectors.detector import Detector

    reg = registry()
    fall_home = Home(datetime(2026, 9, 1, tzinfo=SHANGHAI), lamp_after_fall=True, days=DAYS, bedtime_h=20.0)
    batch = fall_home.readings(reg)
    suggestion, = learn(reg, batch.take(np.flatnonzero(batch.ts < fall_home.local(DAYS, 0))), thresholds(), RHYTHM)
    learned = thresholds().with_households({"H1": suggestion.layer})
    alarms = welfare_alarms(Detector(reg, learned), batch)
    assert [s for s, _, _ in alarms] == [fall_home.fall]
    (start, opened, evidence), = alarms
    # brought forward by the lamp, at its learned 3 h (the first sweep at or after it)
    assert evidence["left_on_threshold_s"] == 3 * H
    assert opened - start == pytest.approx(3 * H, abs=STEP)


def test_nothing_is_learned_where_the_lamp_rule_is_off_or_the_meter_is_read_hourly() -> None:
    reg, h = registry(), home(20.0)
    off, = learn(reg, h.readings(reg), thresholds(left_on="~"), RHYTHM)
    assert off.layer.left_on_hours is None and "lamp" not in off.reason
    assert np.isnan(longest_burn_s(reg, h.readings(reg, every=4), thresholds())[0])
    hourly = learn(reg, h.readings(reg, every=4), thresholds(), RHYTHM)
    assert all(s.layer.left_on_hours is None for s in hourly)


def test_the_longest_burn_is_what_the_lamp_rule_counts() -> None:
    """Contract between learning and the rule, over a simulated cohort's history: set each
    home's lamp hours a minute over its measured burn and the rule never fires on that
    history; a quarter hour (one reading) under it and it fires in every home that burned
    longer than that."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    from quality.project import default_thresholds
    from quality.simulated import as_dataset, build

    from detectors.backtest import replay, windows
    from detectors.detector import Detector
    from lifesign.alerts import AlertState, Rule, Severity

    ds = as_dataset(build(40, 2, 14, seed=21), "seed 21")
    history, base = ds.before(ds.test_start), default_thresholds(ds.timezone)
    burn = longest_burn_s(ds.registry, history, base)
    ids = [str(h) for h in ds.registry.household_ids]
    assert np.isfinite(burn).all() and (burn > STEP).sum() >= 30  # evenings with lamps: the test has teeth

    def lamp_alarms(extra_s: float) -> set[str]:
        over = {ids[i]: Layer(left_on_hours=(burn[i] + extra_s) / H) for i in range(len(ids)) if burn[i] + extra_s > 0}
        detector = Detector(ds.registry, base.with_households(over))
        return {a.household_id for a in replay(detector, windows(history, STEP))
                if a.state is AlertState.OPENED and a.rule == Rule.NO_USAGE.value
                and a.severity is Severity.CRITICAL and "left_on_s" in a.evidence}

    assert lamp_alarms(60.0) == set()
    assert lamp_alarms(-STEP - 60.0) == {ids[i] for i in range(len(ids)) if burn[i] > STEP + 60.0}
