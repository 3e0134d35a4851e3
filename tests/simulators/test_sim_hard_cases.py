"""What independent data showed and the first simulator lacked (issue 11): big cold appliances,
standby up to 300 W, loads left on after an incident, running toilets, long sleepers, very
low users. Expected values come from the model's stated parameters, never from a run."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest

from detectors.backtest import normalise_ground_truth, score
from lifesign.alerts import Alert, AlertState, EpisodeKey, Rule
from simulators.absences import Absence
from simulators.accrual import RoundGrid
from simulators.appliances import DEFROST_SHARE, FREEZER_SHARE, STANDBY_MAX_W
from simulators.cohort import make_cohort
from simulators.conditions import draw_conditions
from simulators.dataset import ground_truth_rows
from simulators.incidents import LEFT_ON_LOADS, Incident, leave_loads_on
from simulators.lifestyle import Lifestyle
from simulators.routine import DAY, HOUR
from simulators.scenario import Scenario

START = 20047 * DAY - 8 * HOUR  # 2024-11-20 00:00 local (UTC+8), winter
SUMMER = 19920 * DAY - 8 * HOUR  # 2024-07-16 00:00 local


def share_within(measured: float, p: float, n: int) -> None:
    """A binomial share within four standard errors of its stated probability."""
    assert abs(measured - p) <= 4 * math.sqrt(p * (1 - p) / n) + 1e-9, (measured, p, n)


def test_realistic_cold_appliances_and_standby_follow_their_stated_ranges() -> None:
    n = 4000
    h = make_cohort(n, 21, appliances="realistic").homes
    assert h.fridge_on_w.min() >= 100 and h.fridge_on_w.max() <= 250
    assert h.fridge_duty.min() >= 0.25 and h.fridge_duty.max() <= 0.5
    assert h.fridge_period_min.min() >= 30 and h.fridge_period_min.max() <= 90
    freezer = h.freezer_on_w > 0
    share_within(freezer.mean(), FREEZER_SHARE, n)
    assert h.freezer_on_w[freezer].min() >= 80 and h.freezer_on_w[freezer].max() <= 150
    defrost = h.defrost_w > 0
    share_within(defrost.mean(), DEFROST_SHARE, n)
    assert h.defrost_w[defrost].min() >= 150 and h.defrost_w[defrost].max() <= 300
    assert h.defrost_min[defrost].min() >= 15 and h.defrost_min[defrost].max() <= 30
    assert h.defrost_every_h.min() >= 8 and h.defrost_every_h.max() <= 24
    # standby 10 + 20·exp(0.9 z): median 30 W, P(< 60 W) = Φ(ln 2.5 / 0.9), P(> 150 W) = 1 - Φ(ln 7 / 0.9)
    assert h.standby_w.min() >= 10 and h.standby_w.max() <= STANDBY_MAX_W
    assert np.median(h.standby_w) == pytest.approx(30.0, abs=2.0)
    share_within((h.standby_w < 60).mean(), NormalDist().cdf(math.log(2.5) / 0.9), n)
    share_within((h.standby_w > 150).mean(), 1 - NormalDist().cdf(math.log(7.0) / 0.9), n)
    # the flat base load is their average
    defrost_share = h.defrost_min / 60 / h.defrost_every_h
    np.testing.assert_allclose(h.base_load_w, h.standby_w + h.fridge_on_w * h.fridge_duty
                               + h.freezer_on_w * h.freezer_duty + h.defrost_w * defrost_share)


def test_the_simple_model_keeps_the_first_homes_draws() -> None:
    simple, realistic = make_cohort(300, 4).homes, make_cohort(300, 4, appliances="realistic").homes
    # only the automatic loads differ: the routine's other columns are the same draws
    np.testing.assert_array_equal(simple.daily_water_l, realistic.daily_water_l)
    np.testing.assert_array_equal(simple.nap_p, realistic.nap_p)
    assert (simple.freezer_on_w == 0).all() and (simple.defrost_w == 0).all() and (simple.standby_drift == 0).all()
    with pytest.raises(ValueError, match="appliances must be one of simple, realistic, got 'fancy'"):
        make_cohort(3, 0, appliances="fancy")


def test_an_empty_home_cycles_between_standby_and_standby_plus_compressor() -> None:
    cohort = make_cohort(60, 5, appliances="realistic")
    away = tuple(Absence(str(h), "trip", START - DAY, START + 3 * DAY) for h in cohort.registry.household_ids)
    scenario = Scenario(cohort, START, 1, interval_s=60, seed=5, lifestyle=Lifestyle.realistic(), absences=away)
    night = RoundGrid(START + 1 * HOUR, 60.0, 6 * 60)  # 01:00-07:00, one-minute rounds, nobody home
    watts = scenario.routine().usage_matrix(night, slice(0, 60), scenario.effects(slice(0, 60))).electricity_wh * 60
    h = cohort.homes
    plain = np.flatnonzero((h.freezer_on_w == 0) & (h.defrost_w == 0))  # fridge and standby only
    assert len(plain) > 10
    for i in plain:
        low, high = h.standby_w[i], h.standby_w[i] + h.fridge_on_w[i]
        drift = 0.05 * h.standby_w[i] + 0.01
        off = np.abs(watts[i] - low) <= drift
        on = np.abs(watts[i] - high) <= drift
        # whole minutes are at one of the two levels; the rest are minutes the compressor switched in
        assert (off | on).mean() > 0.85, i
        share = on.sum() / (on.sum() + off.sum())
        assert share == pytest.approx(h.fridge_duty[i], abs=0.08), i
        assert watts[i].min() >= low - drift and watts[i].max() <= high + drift


def test_the_register_shows_empty_homes_above_150_w_when_their_loads_add_up() -> None:
    cohort = make_cohort(400, 6, appliances="realistic")
    away = tuple(Absence(str(h), "trip", START - DAY, START + 3 * DAY) for h in cohort.registry.household_ids)
    scenario = Scenario(cohort, START, 2, seed=6, lifestyle=Lifestyle.realistic(), absences=away)
    kwh = np.concatenate([b.electricity_kwh for b in scenario.blocks()], axis=1)
    watts = (kwh[:, -1] - kwh[:, 0]) * 1000 / (2 * 24 - 0.25)
    base = cohort.homes.base_load_w
    # the 0.01 kWh register over two days: within a few watts of the stated average draw
    np.testing.assert_allclose(watts, base, atol=0.05 * base.max() + 3)
    assert (watts[base > 170] >= 150).all() and (base > 170).any()


def test_loads_left_on_after_an_incident_are_drawn_recorded_and_shown() -> None:
    cohort = make_cohort(400, 8, appliances="realistic")
    ids = cohort.registry.household_ids
    winter = tuple(Incident(str(h), "incapacitated", START + 10 * HOUR) for h in ids[:200])
    summer = tuple(Incident(str(h), "fall_tap_running", SUMMER + 10 * HOUR, magnitude=200.0) for h in ids[200:])
    others = (Incident(str(ids[0]), "illness", START, START + DAY, magnitude=0.3),)
    left = leave_loads_on(winter + summer + others, 0.5, seed=8)
    assert left[-1] == others[0]  # only stopping incidents leave a load on
    on = [i for i in left if i.left_on]
    share_within(len(on) / 400, 0.5, 400)
    for i in on:
        lo, hi = LEFT_ON_LOADS[i.left_on]
        assert lo <= i.left_on_w <= hi
    assert {i.left_on for i in on if i.start < SUMMER + DAY} == {"light", "tv"}  # no heater in July
    assert "heater" in {i.left_on for i in on if i.start > START}
    assert left == leave_loads_on(winter + summer + others, 0.5, seed=8) != leave_loads_on(winter + summer + others, 0.5, seed=9)

    scenario = Scenario(cohort, START, 2, seed=8, lifestyle=Lifestyle.realistic(), incidents=left[:200])
    rows = [r for r in ground_truth_rows(scenario) if r["category"] == "incident"]
    assert {(r["household_id"], r["left_on"], r["left_on_w"]) for r in rows} == {
        (i.household_id, i.left_on, f"{i.left_on_w:g}" if i.left_on else "") for i in left[:200]}
    grid = RoundGrid(START + 11 * HOUR, 900.0, 4 * 30)  # from an hour after the incident, 30 h
    wh = scenario.routine().usage_matrix(grid, None, scenario.effects(slice(0, 400))).electricity_wh
    h = cohort.homes
    for i in left[:200]:
        k = cohort.registry.household_index[i.household_id]
        floor_w = h.standby_w[k] * (1 - h.standby_drift[k]) + i.left_on_w
        assert (wh[k] * 4 >= floor_w - 1e-6).all(), i


def test_running_toilets_are_conditions_with_their_own_flow() -> None:
    n = 4000
    cohort = make_cohort(n, 12)
    conditions = draw_conditions(cohort, START, 10, seed=12, running_toilet_fraction=0.05, lph=(0.5, 6.0))
    share_within(len(conditions) / n, 0.05, n)
    assert all(0.5 <= c.lph <= 6.0 and c.start >= START for c in conditions)
    whole = [c for c in conditions if c.start == START]  # half run the whole time, the others 2-20 days
    share_within(len(whole) / len(conditions), 0.5, len(conditions))
    assert all(math.isinf(c.end) for c in whole)
    assert all(2 * DAY <= c.end - c.start <= 20 * DAY for c in conditions if math.isfinite(c.end))
    assert draw_conditions(cohort, START, 10, seed=12) == conditions
    # the flow shows on the water meter of a home whose resident is away
    small = make_cohort(40, 12)
    toilets = draw_conditions(small, START, 3, seed=3, running_toilet_fraction=0.5)
    away = tuple(Absence(str(h), "trip", START - DAY, START + 4 * DAY) for h in small.registry.household_ids)
    scenario = Scenario(small, START, 3, seed=3, absences=away, conditions=toilets)
    grid = RoundGrid(START, 3600.0, 72)
    litres = scenario.routine().usage_matrix(grid, None, scenario.effects(slice(0, 40))).water_l
    for c in toilets:
        k = small.registry.household_index[c.household_id]
        hours = (np.minimum(grid.start + (np.arange(72) + 1) * 3600.0, c.end)
                 - np.maximum(grid.start + np.arange(72) * 3600.0, c.start)).clip(0, 3600) / 3600
        np.testing.assert_allclose(litres[k], c.lph * hours, atol=1e-6)
    untouched = np.setdiff1d(np.arange(40), [small.registry.household_index[c.household_id] for c in toilets])
    assert (litres[untouched] == 0).all()
    rows = [r for r in ground_truth_rows(scenario) if r["category"] == "condition"]
    assert len(rows) == len(toilets) and {r["kind"] for r in rows} == {"running_toilet"}


def test_a_condition_explains_no_welfare_alarm_in_the_backtest() -> None:
    cohort = make_cohort(12, 1)
    toilets = draw_conditions(cohort, START, 3, seed=1, running_toilet_fraction=1.0)
    truth = normalise_ground_truth(pd.DataFrame(ground_truth_rows(Scenario(cohort, START, 3, conditions=toilets))))
    assert set(truth["category"]) == {"condition"}
    # a welfare alarm in a home with a running toilet is still a false alarm, not "explained"
    home = toilets[0].household_id
    alarm = Alert(EpisodeKey(home, Rule.NO_USAGE.value, START + DAY), AlertState.OPENED, START + DAY + 12 * HOUR)
    result = score([alarm], truth, cohort.registry, START, START + 3 * DAY)
    assert result.incidents == 0 and result.false_alarms == 1 and not result.explained


def test_long_sleepers_sleep_10_to_12_hours_and_nap_long() -> None:
    n = 2000
    cohort = make_cohort(n, 13, long_sleeper_fraction=0.1)
    h = cohort.homes
    share_within(h.long_sleeper.mean(), 0.1, n)
    night = (24 - h.sleep_hour + h.wake_hour)
    assert night[h.long_sleeper].min() >= 10 - 1e-9 and night[h.long_sleeper].max() <= 12 + 1e-9
    assert night[~h.long_sleeper].max() <= 8.25 + 1e-9
    assert (h.nap_scale[h.long_sleeper] >= 1.5).all() and (h.nap_scale[~h.long_sleeper] == 1).all()
    routine = Scenario(cohort, START, 8, seed=13).routine()
    day0 = routine.local_day(START)
    nights = np.array([(routine.plan(d).wake - routine.plan(d - 1).sleep) / HOUR for d in range(day0 + 1, day0 + 8)])
    # nightly drift is ±0.75 h at most around the usual 10-12 h; clipped at 12.5 h
    assert nights[:, h.long_sleeper].mean() == pytest.approx(11.0, abs=0.3)
    assert nights[:, h.long_sleeper].min() >= 8.5 and nights[:, h.long_sleeper].max() <= 12.5 + 1e-9
    assert nights[:, ~h.long_sleeper].max() <= 8.5 + 1e-9
    assert make_cohort(50, 13).homes.wake_hour.tolist() == make_cohort(50, 13, long_sleeper_fraction=0.0).homes.wake_hour.tolist()


def test_very_low_users_cook_only_their_evening_meal() -> None:
    cohort = make_cohort(400, 14, low_user_fraction=0.3, low_users_cook_little=True)
    plan = Scenario(cohort, START, 1, seed=14).routine().plan(20047)
    low = cohort.homes.low_user & ~cohort.homes.has_gas
    assert (cohort.homes.cooks_little == cohort.homes.low_user).all()
    assert not make_cohort(400, 14, low_user_fraction=0.3).homes.cooks_little.any()  # off by default
    # episodes 3-5 of the plain day are the three cooking sessions (breakfast, lunch, dinner)
    assert (plan.episode_w[low, 3:5] == 0).all()
    assert (plan.episode_w[low, 5] > 0).mean() > 0.9 and (plan.episode_w[~low, 3] > 0).mean() > 0.9
