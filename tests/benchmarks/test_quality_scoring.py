"""The detection-quality benchmark's own scorer, fixed rule and visible-absence finder,
on hand-made alarms, ground truth and readings whose numbers are worked out here."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from quality.fixed_rule import fixed_rule_alarms
from quality.scoring import MONTH_S, combine, covered_s, score
from quality.visible_absences import (
    electricity_absences,
    electricity_filled_gaps,
    water_absences,
)

H = 3600.0
DAY = 86400.0


def test_two_incidents_one_caught_after_3_h_one_missed_and_one_false_alarm_in_1_5_home_months() -> None:
    # two homes over 0.75 month each: 1.5 home-months, but the incident windows run to the
    # end of the data, so normal living is what comes before each incident
    end = 0.75 * MONTH_S
    incidents = pd.DataFrame({"household_id": ["A", "B"], "start": [10 * DAY, 20 * DAY], "end": [np.nan, np.nan],
                              "light_on": [True, False]})
    alarms = [("A", 10 * DAY + 3 * H, "no_usage"),        # catches A after 3 h
              ("A", 10 * DAY + 30 * H, "no_usage"),       # A is still down: not false
              ("B", 20 * DAY + 25 * H, "fixed_rule"),     # 25 h: too late, B is missed, and not false
              ("B", 5 * DAY, "no_usage"),                 # normal living: false
              ("B", 6 * DAY, "continuous_flow"),          # a worker at the door too: false
              ("B", 7 * DAY, "abnormal_high")]            # not a welfare alarm
    s = score(alarms, households=["A", "B"], start=0.0, end=end, incidents=incidents)
    assert (s.incidents, s.caught) == (2, 1)
    assert s.delays_h == [3.0]
    assert s.median_delay_h == 3.0
    assert s.missed == [f"B at {20 * DAY:.0f}"]
    assert (s.light_on, s.light_off) == ((1, 1), (0, 1))
    assert s.false_alarms == 2
    assert s.normal_home_months == pytest.approx((10 * DAY + 20 * DAY) / MONTH_S)  # 1.0
    assert s.false_alarms_per_home_month == pytest.approx(2.0)
    # the flow's part of the false alarms, shown apart
    assert s.flow_alarms == 1 and s.flow_alarms_per_home_month == pytest.approx(1.0)


def test_a_fall_with_the_tap_running_is_caught_by_the_flow_alarm() -> None:
    incidents = pd.DataFrame({"household_id": ["A"], "start": [2 * DAY], "end": [np.nan]})
    alarms = [("A", 2 * DAY + H, "continuous_flow"), ("A", 2 * DAY + 13 * H, "no_usage")]
    s = score(alarms, households=["A"], start=0.0, end=10 * DAY, incidents=incidents)
    assert (s.caught, s.delays_h, s.false_alarms) == (1, [1.0], 0)


def test_one_false_alarm_over_1_5_home_months_is_0_667() -> None:
    s = score([("A", 3 * DAY, "no_usage")], households=["A", "B"], start=0.0, end=0.75 * MONTH_S)
    assert s.normal_home_months == pytest.approx(1.5)
    assert s.false_alarms_per_home_month == pytest.approx(0.667, abs=1e-3)
    assert s.incidents == 0 and np.isnan(s.recall)


def test_absences_are_counted_k_of_n_and_explained_windows_apart() -> None:
    absences = pd.DataFrame({"household_id": ["A", "A"], "start": [2 * DAY, 8 * DAY], "end": [4 * DAY, 9 * DAY]})
    explained = pd.DataFrame({"household_id": ["B"], "start": [1 * DAY], "end": [2 * DAY], "cause": ["water_cut"]})
    alarms = [("A", 3 * DAY, "no_usage"), ("A", 3.5 * DAY, "no_usage"),  # both in the first absence
              ("B", 1.5 * DAY, "fixed_rule"),                             # explained by the cut
              ("B", 1.5 * DAY, "continuous_flow"),                        # in the cut: not on normal living
              ("A", 11 * DAY, "abnormal_high")]                           # neither welfare nor flow
    s = score(alarms, households=["A", "B"], start=0.0, end=30 * DAY, absences=absences, explained=explained)
    assert (s.absences_alarmed, s.absences) == (1, 2)
    assert s.explained == {"water_cut": 2}
    assert s.false_alarms == 0 and s.flow_alarms == 0
    # A: 30 days - 3 days of absence; B: 30 days - 1 day of cut
    assert s.normal_home_months == pytest.approx((27 + 29) * DAY / MONTH_S)


def test_alarms_outside_the_test_period_are_ignored_and_one_alarm_catches_one_incident() -> None:
    incidents = pd.DataFrame({"household_id": ["A", "A"], "start": [5 * DAY, 5 * DAY + H], "end": [6 * DAY, 7 * DAY]})
    alarms = [("A", -DAY, "no_usage"), ("A", 5 * DAY + 2 * H, "no_usage")]
    s = score(alarms, households=["A"], start=0.0, end=10 * DAY, incidents=incidents)
    assert (s.incidents, s.caught, s.false_alarms) == (2, 1, 0)
    assert s.light_on is None


def test_leaks_are_caught_by_a_flow_alarm_in_their_window() -> None:
    leaks = pd.DataFrame({"household_id": ["A", "B"], "start": [DAY, DAY], "end": [np.inf, np.inf]})
    s = score([("A", DAY + 2 * H, "continuous_flow")], households=["A", "B"], start=0.0, end=10 * DAY, leaks=leaks)
    assert (s.leaks_caught, s.leaks, s.flow_alarms, s.false_alarms) == (1, 2, 0, 0)
    assert s.explained == {"leak": 1}


def test_combine_pools_counts_and_delays() -> None:
    inc = pd.DataFrame({"household_id": ["A"], "start": [DAY], "end": [np.nan]})
    one = score([("A", DAY + H, "no_usage")], households=["A"], start=0.0, end=10 * DAY, incidents=inc)
    two = score([("A", DAY + 5 * H, "no_usage")], households=["A"], start=0.0, end=10 * DAY, incidents=inc)
    both = combine([one, two])
    assert (both.caught, both.incidents, both.median_delay_h) == (2, 2, 3.0)
    assert both.normal_home_months == pytest.approx(2 * DAY / MONTH_S)


def test_covered_seconds_merge_overlaps_and_clip() -> None:
    assert covered_s([(0, 10), (5, 20), (30, 40), (-5, 1)], 0, 35) == 25


def test_fixed_rule_one_alarm_per_episode_needs_fresh_readings() -> None:
    # 15-minute readings for 3 days; water used until hour 10, then none until hour 40, then again
    ts = np.arange(0, 72 * H + 1, 900.0)
    used = (ts <= 10 * H) | (ts >= 40 * H)
    value = np.cumsum(np.where(used, 0.002, 0.0))
    alarms = fixed_rule_alarms(np.zeros(len(ts), dtype=np.int32), ts, value, ["A"])
    # 2 L a reading until 10 h: the check at 21 h sees (9 h, 21 h], the readings of 9.25 h to
    # 10 h, 8 L < 10 L; at 20.75 h it still saw 9 h to 10 h, 10 L. One alarm until water returns.
    assert alarms == [("A", 21 * H, "fixed_rule")]
    # the same silence with the meter gone quiet from hour 20: no fresh readings, no alarm
    keep = ts <= 20 * H
    assert fixed_rule_alarms(np.zeros(int(keep.sum()), dtype=np.int32), ts[keep], value[keep], ["A"]) == []


def _register(power_w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ts = np.arange(len(power_w) + 1) * H
    return ts, np.r_[0.0, np.cumsum(power_w / 1000.0)]


def test_an_electricity_absence_is_36_h_at_base_load_without_a_rise() -> None:
    rng = np.random.default_rng(0)
    days = 20
    hour = np.arange(days * 24) % 24
    # a family: 80 W base, busy evenings and mornings with noise
    power = 80 + np.where((hour >= 7) & (hour <= 22), 200 + rng.integers(0, 400, days * 24), 0).astype(float)
    power[5 * 24 + 12:8 * 24 + 6] = 90.0        # away 66 h: base load only
    power[12 * 24 + 8:13 * 24 + 14] = 85.0      # 30 h quiet: too short to count
    ts, kwh = _register(power)
    found = electricity_absences(ts, kwh)
    # the trip and the quiet night hour after it (06:00, at base load) before the 07:00 rise
    assert found == [((5 * 24 + 12) * H, (8 * 24 + 7) * H)]
    # a kettle in the middle of the trip splits it into two spells, each under 36 h
    power[6 * 24 + 20] = 2000.0
    assert electricity_absences(*_register(power)) == []


def test_a_linear_fill_is_an_artefact_and_not_an_absence() -> None:
    rng = np.random.default_rng(1)
    power = 40 + rng.integers(0, 500, 30 * 24).astype(float)
    power[10 * 24:20 * 24] = 543.3               # the source drew a straight line for 10 days
    ts, kwh = _register(power)
    kwh = np.round(kwh, 2)                        # the register's 0.01 kWh step
    fills = electricity_filled_gaps(ts, kwh)
    assert len(fills) == 1
    assert fills[0][0] == pytest.approx(10 * 24 * H, abs=2 * H)
    assert fills[0][1] == pytest.approx(20 * 24 * H, abs=2 * H)
    assert electricity_absences(ts, kwh) == []


def test_a_water_absence_is_24_h_without_a_litre() -> None:
    ts = np.arange(0, 5 * DAY, 60.0)
    # a litre every 4 h, none between day 1 and 2.5 days (the next use shows at 60 h)
    used = ((ts % (4 * H)) == 0) & ~((ts > DAY) & (ts < 2.5 * DAY))
    m3 = np.cumsum(used * 0.001)
    # from the reading that showed the last use to the reading before the next one
    assert water_absences(ts, m3) == [(DAY, 60 * H - 60)]
    assert water_absences(ts, m3, min_hours=40) == []


def test_an_alarm_still_open_when_an_absence_begins_counts_for_it() -> None:
    absences = pd.DataFrame({"household_id": ["A", "B", "C"], "start": [5 * DAY] * 3, "end": [9 * DAY] * 3})
    alarms = [("A", 4 * DAY, "no_usage", 10 * DAY),          # open across the absence's start
              ("B", 4 * DAY, "no_usage", 4.5 * DAY),         # cleared before it began
              ("C", 4 * DAY, "no_usage")]                    # when it cleared is not known
    s = score(alarms, households=["A", "B", "C"], start=0.0, end=30 * DAY, absences=absences)
    assert (s.absences_alarmed, s.absences) == (1, 3)
    # A's alarm is the absence's (its silence is the absence, begun before the finder let it
    # start); B's cleared on activity before the absence and C's may have: both false alarms
    assert s.false_alarms == 2
