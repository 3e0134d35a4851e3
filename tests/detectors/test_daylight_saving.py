"""A silence is measured in real seconds; windows and days stay local (both DST nights).

Expected deadlines are worked out here minute by minute with zoneinfo, independently of
the closed-form tables in detectors.timeweights.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from detectors.detector import Detector
from detectors.thresholds import Thresholds, parse_timezone
from detectors.timeweights import Profiles, profile_weights
from lifesign.grid import Address, Household, Meter, Resident, Tier, Utility
from lifesign.readings import ReadingBatch
from lifesign.registry import Registry

BRUSSELS = ZoneInfo("Europe/Brussels")
H = 3600.0
#: 22:00 local on the evening before each change of 2026 (spring: 03-29 02:00 -> 03:00;
#: autumn: 10-25 03:00 -> 02:00)
NIGHTS = {
    "spring": datetime(2026, 3, 28, 22, 0, tzinfo=BRUSSELS).timestamp(),
    "autumn": datetime(2026, 10, 24, 22, 0, tzinfo=BRUSSELS).timestamp(),
}


def brute_force_deadline(start: float, amount_s: float, windows: list[tuple[int, int, float]]) -> float:
    """Walk real minutes from ``start``; each counts its local quarter hour's weight."""
    def weight(t: float) -> float:
        local = datetime.fromtimestamp(t, BRUSSELS)
        minute = local.hour * 60 + local.minute
        w = 1.0
        for lo, hi, value in windows:
            inside = lo <= minute < hi if lo < hi else (minute >= lo or minute < hi)
            w = value if inside else w
        return w
    t, total = start, 0.0
    while True:
        w = weight(t)
        if total + 60.0 * w >= amount_s:
            return t + (amount_s - total) / w
        total += 60.0 * w
        t += 60.0


@pytest.mark.parametrize("night", sorted(NIGHTS))
@pytest.mark.parametrize("windows", [[], [(22 * 60, 7 * 60, 0.5)], [(0, 6 * 60, 0.25), (12 * 60, 14 * 60, 2.0)]])
def test_a_deadline_across_a_change_counts_real_hours(night: str, windows: list[tuple[int, int, float]]) -> None:
    profiles = Profiles(np.array([profile_weights(windows)]))
    start = NIGHTS[night] + np.array([0.0, 1800.0, 3 * H + 900.0])
    amount = np.array([10 * H, 6 * H, 8 * H])
    deadline = profiles.deadline(np.zeros(3, dtype=np.intp), start, amount, BRUSSELS)
    expected = [brute_force_deadline(s, a, windows) for s, a in zip(start, amount, strict=True)]
    np.testing.assert_allclose(deadline, expected, atol=1.0)
    # and the effective length of the silence up to its deadline is the threshold again
    back = profiles.effective_between(np.zeros(3, dtype=np.intp), start, deadline, BRUSSELS)
    np.testing.assert_allclose(back, amount, atol=1.0)


@pytest.mark.parametrize("night", sorted(NIGHTS))
def test_a_red_tier_alarm_needs_its_full_ten_real_hours(night: str) -> None:
    home = Household("H1", Address("C1", "G1", "B1", "1", "101"), Resident("R", 80, "p", "e"), Tier.RED)
    registry = Registry.from_records([home], [Meter("W1", "H1", Utility.WATER, "GW1")])
    thresholds = Thresholds.parse("timezone: Europe/Brussels\ndefaults: {no_usage: {hours: 10}}")
    assert thresholds.tz() == parse_timezone("Europe/Brussels")
    detector = Detector(registry, thresholds)
    last_use = NIGHTS[night] - H  # 21:00 local, then nothing all night
    value = 10.0
    alerts = []
    t = last_use - 2 * H
    while t < last_use + 14 * H:
        t += 900.0
        value += 0.005 if t <= last_use and int(t / 900) % 2 == 0 else 0.0
        detector.observe(ReadingBatch.of([0], [t], [round(value, 3)]))
        alerts += [a for a in detector.sweep(t) if a.rule == "no_usage"]
    (opened,) = alerts
    silence = opened.at - opened.key.episode_start
    assert silence == pytest.approx(10 * H, abs=900.0)  # the first sweep at or after 10 real hours
    assert silence >= 10 * H
    assert timedelta(seconds=silence) >= timedelta(hours=10)
