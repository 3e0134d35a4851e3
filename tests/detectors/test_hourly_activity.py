"""Activity on hourly electricity means: a switch, or a ramp over two or three intervals.

One home, one kWh register read every hour (like the real Belgian homes of ../shared/eval).
The change that counts at hourly intervals is 75 W (cold appliances cycle within the hour, so
every hour's mean stays within that of every other's): ``hourly_change_w`` as shipped, beside
``min_change_w: 380`` at 15 minutes, and as configured before it (``min_change_w: 300``). A
household that sets its own ``min_change_w`` gets the site's share of it at an hour. Expected
activity times are worked out from the power profile by hand.
"""

from __future__ import annotations

import numpy as np
import pytest

from detectors.detector import Detector
from detectors.thresholds import Thresholds
from lifesign.config.errors import ConfigError
from lifesign.grid import Address, Household, Meter, Resident, Tier, Utility
from lifesign.readings import ReadingBatch
from lifesign.registry import Registry

T0 = 1_463_000_000.0
H = 3600.0
ACTIVITY = {
    "shipped": "{min_change_w: 380, hourly_change_w: 75, resolution_kwh: 0.01}",
    "the 300 W shipped before, hourly_change_w unset (75 W)": "{min_change_w: 300, resolution_kwh: 0.01}",
}


def thresholds(electricity: str) -> Thresholds:
    return Thresholds.parse(f"timezone: Europe/Brussels\nactivity: {{electricity: {electricity}}}\n"
                            "defaults: {no_usage: {hours: 12}}\n")


@pytest.fixture(params=sorted(ACTIVITY))
def electricity(request: pytest.FixtureRequest) -> str:
    return ACTIVITY[request.param]


def home() -> Registry:
    house = Household("H1", Address("C1", "G1", "B1", "1", "101"), Resident("R", 80, "p", "e"), Tier.GREEN)
    return Registry.from_records([house], [Meter("E1", "H1", Utility.ELECTRICITY, "GW1")])


def hourly(watts: list[float]) -> ReadingBatch:
    """Register readings at T0, T0 + 1 h, ...: hour k (ending at T0 + (k + 1) h) at ``watts[k]``."""
    register = 100.0 + np.r_[0.0, np.cumsum(np.asarray(watts) / 1000.0)]
    ts = T0 + H * np.arange(len(register))
    return ReadingBatch(np.zeros(len(ts), dtype=np.int32), ts, register)


def activity(watts: list[float], batch_hours: int | None = None, electricity: str = ACTIVITY["shipped"]) -> list[float]:
    """Hours after T0 at which activity was seen, observed whole or in batches of ``batch_hours``."""
    detector = Detector(home(), thresholds(electricity))
    batch = hourly(watts)
    if batch_hours is None:
        _, seen = detector.activity_in(batch)
        return [float(t - T0) / H for t in seen]
    times: list[float] = []
    for lo in range(0, len(batch), batch_hours):
        detector.observe(batch.take(np.arange(lo, min(lo + batch_hours, len(batch)))))
        times += [float(t - T0) / H for t in detector.meters.last_activity[1]]
    return times


def test_an_evening_getting_going_over_three_hours_is_activity(electricity: str) -> None:
    # 30 W at rest; lights and the TV come on one by one: +35 W an hour for three hours (each
    # step, and each pair of steps, stays within 75 W; the three together are 105 W), then off
    # again the same way.
    watts = [30.0] * 6 + [65.0, 100.0, 135.0] + [135.0] * 3 + [100.0, 65.0, 30.0] + [30.0] * 6
    # hour 8 (ending 9 h after T0) reads 135 W against 30 W three hours back: switched on, seen at
    # its end; hour 14 (ending at 15 h) reads 30 W against 135 W three hours back: switched
    # off, seen at its start (14 h), the last moment the evening was still going
    assert activity(watts, electricity=electricity) == [9.0, 14.0]


def test_cold_appliances_cycling_within_the_hour_are_not_activity(electricity: str) -> None:
    # a fridge-freezer whose hourly mean wanders between 30 and 100 W: no two hours 75 W apart
    watts = [30.0, 90.0, 40.0, 100.0, 60.0, 30.0, 95.0, 35.0, 70.0, 100.0, 30.0, 80.0] * 3
    assert activity(watts, electricity=electricity) == []


def test_a_lamp_of_90_w_counts_at_an_hour_though_380_w_spread_over_it_would_be_95() -> None:
    # the hourly change is hourly_change_w (75 W), not the 15-minute 380 W x 15/60: a lamp and a
    # TV (90 W) switched on at hour 6 count, seen at its end (7 h) and in the two hours after
    # against the two intervals before last (8 h, 9 h)
    watts = [30.0] * 6 + [120.0] * 6
    assert activity(watts) == [7.0, 8.0, 9.0]
    assert activity([30.0] * 6 + [100.0] * 6) == []  # 70 W: within what cold appliances make


def test_a_home_that_sets_its_own_min_change_w_gets_the_sites_share_of_it_at_an_hour() -> None:
    # site 300 W at 15 minutes, 75 W at an hour: a quarter. A home without cold appliances set
    # to 200 W has 50 W at an hour, so a 60 W lamp counts there (7 h, then 8 h and 9 h as above);
    # a home set to 600 W has 150 W, so the same switch and a 140 W one do not
    site = "{min_change_w: 300, hourly_change_w: 75, resolution_kwh: 0.01}"
    detector = Detector(home(), Thresholds.parse(
        f"timezone: Europe/Brussels\nactivity: {{electricity: {site}}}\ndefaults: {{no_usage: {{hours: 12}}}}\n"
        "households: {H1: {activity: {electricity: {min_change_w: 200}}}}\n"))
    assert detector.change_threshold_w(0, 3600.0) == pytest.approx(200.0 * 75.0 / 300.0)
    _, seen = detector.activity_in(hourly([30.0] * 6 + [90.0] * 6))
    assert [float(t - T0) / H for t in seen] == [7.0, 8.0, 9.0]
    detector = Detector(home(), Thresholds.parse(
        f"timezone: Europe/Brussels\nactivity: {{electricity: {site}}}\ndefaults: {{no_usage: {{hours: 12}}}}\n"
        "households: {H1: {activity: {electricity: {min_change_w: 600}}}}\n"))
    assert detector.change_threshold_w(0, 3600.0) == pytest.approx(600.0 * 75.0 / 300.0)
    assert list(detector.activity_in(hourly([30.0] * 6 + [170.0] * 6))[1]) == []


@pytest.mark.parametrize(("interval_s", "expected_w"), [
    (900.0, 380.0), (1800.0, 75.0 + (380.0 - 75.0) * (3600.0 / 1800.0 - 1.0) / 3.0), (3600.0, 75.0),
    (7200.0, 75.0 / 2)])
def test_the_change_moves_from_15_minutes_to_an_hour_linearly_in_one_over_the_interval(
        interval_s: float, expected_w: float) -> None:
    detector = Detector(home(), thresholds(ACTIVITY["shipped"]))
    assert detector.change_threshold_w(0, interval_s) == pytest.approx(expected_w)


def test_hourly_change_w_is_site_wide_and_at_most_min_change_w() -> None:
    with pytest.raises(ConfigError, match="at most min_change_w"):
        thresholds("{min_change_w: 380, hourly_change_w: 400}")
    with pytest.raises(ConfigError, match="is site-wide"):
        Thresholds.parse("defaults: {no_usage: {hours: 12}}\n"
                         "households: {H1: {activity: {electricity: {min_change_w: 300, hourly_change_w: 50}}}}\n")


def test_a_two_hour_ramp_is_seen_against_the_intervals_before_last(electricity: str) -> None:
    # +50 W twice: the second hour (ending 8 h) reads 100 W against 0 W two hours back; the
    # hour after (ending 9 h) still reads 100 W against 0 W three hours back; the next reads
    # 100 W against 100, 100 and 50 W
    watts = [0.0] * 6 + [50.0, 100.0] + [100.0] * 4
    assert activity(watts, electricity=electricity) == [8.0, 9.0]


@pytest.mark.parametrize("batch_hours", [1, 2, 3, 5])
def test_activity_does_not_depend_on_batch_sizes(batch_hours: int) -> None:
    # slow ramps, switches and a 3 kW kettle hour (its difference from a 30 W hour is beyond
    # what the stored byte holds, +-1.27 kW)
    watts = ([30.0] * 4 + [65.0, 100.0, 135.0, 3135.0, 135.0, 100.0, 65.0, 30.0, 30.0, 2030.0, 30.0, 30.0, 60.0,
                              95.0, 130.0, 165.0, 130.0, 95.0, 60.0, 25.0] * 3)
    whole = activity(watts)
    assert len(whole) > 10
    assert activity(watts, batch_hours) == whole


@pytest.mark.parametrize(("min_change_w", "expected_hourly_w"), [(200.0, 50.0), (300.0, 75.0), (600.0, 75.0)])
def test_a_file_without_hourly_change_w_gets_75_w_or_a_quarter_of_min_change_w(
        min_change_w: float, expected_hourly_w: float) -> None:
    # files written before there were two numbers read as they did up to 300 W (the 15-minute
    # change spread over the hour); above it, the hour's 75 W that cold appliances don't make
    detector = Detector(home(), thresholds(f"{{min_change_w: {min_change_w:g}, resolution_kwh: 0.01}}"))
    assert detector.change_threshold_w(0, 3600.0) == pytest.approx(expected_hourly_w)
