"""Activity on hourly electricity means: a switch, or a ramp over two or three intervals.

One home, one kWh register read every hour (like the real Belgian homes of ../shared/eval).
The change that counts at hourly intervals is 75 W (cold appliances cycle within the hour, so
every hour's mean stays within that of every other's): ``hourly_change_w`` as shipped (with
``min_change_w: 380`` at 15 minutes), and ``min_change_w: 300`` spread over the hour (300 W x
15 min / 60 min) when that is lower. Expected activity times are worked out from the power
profile by hand.
"""

from __future__ import annotations

import numpy as np
import pytest

from detectors.detector import Detector
from detectors.thresholds import Thresholds
from lifesign.grid import Address, Household, Meter, Resident, Tier, Utility
from lifesign.readings import ReadingBatch
from lifesign.registry import Registry

T0 = 1_463_000_000.0
H = 3600.0
ACTIVITY = {
    "shipped": "{min_change_w: 380, hourly_change_w: 75, resolution_kwh: 0.01}",
    "300 W spread over the hour": "{min_change_w: 300, hourly_change_w: 90, resolution_kwh: 0.01}",
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


def test_a_home_that_lowers_min_change_w_lowers_the_hourly_change_with_it() -> None:
    # a home without cold appliances, set to 200 W at 15 minutes: 50 W over an hour (below
    # hourly_change_w), so a 60 W lamp switched on at hour 6 counts: seen at its end (7 h), and
    # in the two hours after against the two intervals before last (8 h, 9 h)
    watts = [30.0] * 6 + [90.0] * 6
    assert activity(watts, electricity="{min_change_w: 200, resolution_kwh: 0.01}") == [7.0, 8.0, 9.0]
    assert activity(watts) == []


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
