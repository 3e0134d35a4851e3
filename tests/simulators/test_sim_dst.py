"""Residents live by the wall clock across daylight-saving changes (Europe/Brussels, 2025:
spring forward on 30 March at 02:00, fall back on 26 October at 03:00)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from simulators.absences import draw_absences
from simulators.cohort import make_cohort
from simulators.dataset import ground_truth_rows
from simulators.lifestyle import Lifestyle
from simulators.localtime import LocalClock
from simulators.routine import DAY, HOUR
from simulators.scenario import Scenario, pick_incidents
from simulators.scenario_file import ScenarioSpec

BRUSSELS = ZoneInfo("Europe/Brussels")
SPRING = (date(2025, 3, 30) - date(1970, 1, 1)).days
AUTUMN = (date(2025, 10, 26) - date(1970, 1, 1)).days


def wall_hours(t: np.ndarray, zone: ZoneInfo) -> np.ndarray:
    """Local wall-clock hour of the day of each epoch second."""
    local = [datetime.fromtimestamp(x, zone) for x in t]
    return np.array([d.hour + d.minute / 60 + (d.second + d.microsecond / 1e6) / 3600 for d in local])


@pytest.mark.parametrize("change_day", [SPRING, AUTUMN])
def test_wake_and_bed_times_keep_their_wall_clock_across_the_change(change_day: int) -> None:
    cohort = make_cohort(200, 31, long_sleeper_fraction=0.1)
    clock = LocalClock("Europe/Brussels")
    start = clock.midnight(change_day - 3)
    dst = Scenario(cohort, start, 7, seed=31, timezone="Europe/Brussels", lifestyle=Lifestyle.realistic()).routine()
    # the same residents and draws on a clock that never changes: +01:00 before, +02:00 after (spring) or the reverse
    for day in range(change_day - 2, change_day + 3):
        offset = clock.offset_s(clock.midnight(day) + 12 * HOUR) / HOUR
        fixed = Scenario(cohort, start, 7, seed=31, timezone=f"UTC+0{offset:.0f}:00", lifestyle=Lifestyle.realistic()).routine()
        a, b = dst.plan(day), fixed.plan(day)
        # a resident who gets up at 07:00 local does so at 07:00 local whatever the season
        np.testing.assert_allclose(wall_hours(a.wake, BRUSSELS), (b.wake - fixed.midnight(day)) / HOUR, atol=1e-6)
        np.testing.assert_allclose(wall_hours(a.sleep, BRUSSELS) + 24 * (a.sleep >= clock.midnight(day + 1)),
                                   (b.sleep - fixed.midnight(day)) / HOUR, atol=1e-6)


def test_the_change_night_is_an_hour_shorter_in_spring_and_longer_in_autumn() -> None:
    cohort = make_cohort(200, 32)
    for change_day, sign in ((SPRING, -1.0), (AUTUMN, 1.0)):
        clock = LocalClock("Europe/Brussels")
        routine = Scenario(cohort, clock.midnight(change_day - 2), 5, seed=32, timezone="Europe/Brussels").routine()
        fixed = Scenario(cohort, clock.midnight(change_day - 2), 5, seed=32, timezone="UTC+01:00").routine()
        real = (routine.plan(change_day).wake - routine.plan(change_day - 1).sleep) / HOUR
        wall = (fixed.plan(change_day).wake - fixed.plan(change_day - 1).sleep) / HOUR
        np.testing.assert_allclose(real - wall, sign, atol=1e-6)
        # and the next night is as long as its wall clock says
        after = (routine.plan(change_day + 1).wake - routine.plan(change_day).sleep) / HOUR
        after_wall = (fixed.plan(change_day + 1).wake - fixed.plan(change_day).sleep) / HOUR
        np.testing.assert_allclose(after, after_wall, atol=1e-6)


def test_a_dst_scenario_runs_through_the_change_and_its_ground_truth_shows_both_offsets() -> None:
    text = ("seed: 5\nstart: '2025-03-27T00:00:00+01:00'\ndays: 7\ntimezone: Europe/Brussels\n"
            "cohort: {households: 60, appliances: realistic}\nlifestyle: realistic\nabsences: {}\n"
            "incidents: {counts: {incapacitated: 6}, left_on_p: 0.5}\n")
    scenario = ScenarioSpec.parse(text).build()
    assert scenario.timezone == "Europe/Brussels" and scenario.utc_offset_hours == 1.0
    water = np.concatenate([b.water_m3 for b in scenario.blocks()], axis=1)
    # every home uses water on every local day, the short one included
    clock = scenario.clock
    ts = scenario.start + (np.arange(water.shape[1]) + 1) * scenario.interval_s
    for day in range(SPRING - 3, SPRING + 4):
        inside = (ts > clock.midnight(day)) & (ts <= clock.midnight(day + 1))
        assert inside.sum() == (92 if day == SPRING else 96)
    rows = ground_truth_rows(scenario)
    offsets = {r["start_iso"][-6:] for r in rows}
    assert offsets == {"+01:00", "+02:00"}
    # incidents fall while awake on the local clock
    for incident in scenario.incidents:
        i = scenario.cohort.registry.household_index[incident.household_id]
        hour = wall_hours(np.array([incident.start]), BRUSSELS)[0]
        assert scenario.cohort.homes.wake_hour[i] + 1 <= hour <= scenario.cohort.homes.sleep_hour[i] - 1


def test_absences_and_incidents_follow_the_local_clock() -> None:
    cohort = make_cohort(300, 33)
    clock = LocalClock("Europe/Brussels")
    start = clock.midnight(SPRING - 10)
    absences = draw_absences(cohort, start, 20, 33, timezone="Europe/Brussels")
    trips = [a for a in absences if a.kind == "trip" and a.start > start]
    assert trips
    # trips leave 08:00-11:00 and come back 10:00-17:00 local, on either side of the change
    assert all(8 <= h <= 11 for h in wall_hours(np.array([a.start for a in trips]), BRUSSELS))
    assert all(10 <= h <= 17 for h in wall_hours(np.array([a.end for a in trips]), BRUSSELS))
    picked = pick_incidents(cohort, 20, start, 20, seed=1, timezone="Europe/Brussels")
    hours = wall_hours(np.array([i.start for i in picked]), BRUSSELS)
    index = cohort.registry.household_index
    for incident, hour in zip(picked, hours, strict=True):
        i = index[incident.household_id]
        assert cohort.homes.wake_hour[i] + 1 <= hour <= cohort.homes.sleep_hour[i] - 1


def test_a_zone_without_daylight_saving_gives_the_fixed_offset_bytes() -> None:
    cohort = make_cohort(50, 34, appliances="realistic")
    start = 20047 * DAY - 8 * HOUR
    a = Scenario(cohort, start, 2, seed=34, lifestyle=Lifestyle.realistic())  # Asia/Shanghai
    b = Scenario(cohort, start, 2, seed=34, lifestyle=Lifestyle.realistic(), timezone="UTC+08:00")
    for x, y in zip(a.blocks(), b.blocks(), strict=True):
        assert x.water_m3.tobytes() == y.water_m3.tobytes()
        assert x.electricity_kwh.tobytes() == y.electricity_kwh.tobytes()
    with pytest.raises(ValueError, match="timezone must be an IANA time zone .* got 'Mars/Olympus'"):
        Scenario(cohort, start, 1, timezone="Mars/Olympus")
