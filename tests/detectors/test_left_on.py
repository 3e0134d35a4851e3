"""A lamp left on through a silence brings the welfare alarm forward; ordinary evenings don't.

One home (water + electricity, 15-minute registers at 1 Wh and 1 L): standby 20 W, a 100 W
fridge running one interval in three, a 2 kW kettle at meals, water at set times, and a
60 W lamp in the evening that the resident switches off at bedtime (a switch of 60 W is
not a sign of life: a fridge moves more). Expected alarm times come from the schedule and
the configured hours (12 h, left_on 6 h), never from the detector.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from detectors.backtest import replay, windows
from detectors.detector import Detector
from detectors.thresholds import Thresholds
from lifesign.alerts import AlertState, Rule, Severity
from lifesign.grid import Address, Household, Meter, Resident, Tier, Utility
from lifesign.readings import ReadingBatch
from lifesign.registry import Registry

H = 3600.0
STEP = 900.0
SHANGHAI = ZoneInfo("Asia/Shanghai")
STANDBY_W, FRIDGE_W, LAMP_W, KETTLE_W = 20.0, 100.0, 60.0, 2000.0
#: normal days before the incident day
DAYS = 4
#: when the resident falls on the incident day (the kettle's interval ends here: the last sign of life)
FALL_H = 18.0


def thresholds(left_on: str = "{hours: 6, above_quiet_w: 40}", tz: str = "Asia/Shanghai") -> Thresholds:
    return Thresholds.parse(f"""
timezone: {tz}
defaults:
  no_usage: {{hours: 12, max_data_lag_minutes: 20, adapt: ~, left_on: {left_on}}}
""")


def registry() -> Registry:
    home = Household("H1", Address("C1", "G1", "B1", "1", "101"), Resident("R", 80, "p", "e"), Tier.GREEN)
    return Registry.from_records([home], [Meter("W1", "H1", Utility.WATER, "GW1"),
                                          Meter("E1", "H1", Utility.ELECTRICITY, "GW1")])


class Home:
    """The schedule, interval by interval: interval k runs from ts[k] - STEP to ts[k]."""

    def __init__(self, day0: datetime, lamp_after_fall: bool, days: int = DAYS, bedtime_h: float = 22.5) -> None:
        self.day0 = day0
        # the incident day and the day after it (the resident stays down)
        self.ts = np.arange(self.local(0, 0) + STEP, self.local(days + 2, 0) + 1, STEP)
        n = len(self.ts)
        k = np.arange(n)
        self.power_w = STANDBY_W + np.where(k % 3 == 0, FRIDGE_W, 0.0)
        self.water_m3 = np.zeros(n)
        for d in range(days):
            for hour in (7.0, 18.0):  # breakfast and supper: the kettle, and the tap
                self._at(d, hour, kettle=True, water=0.003)
            self._at(d, 12.0, water=0.006)
            self._lamp(self.local(d, 18.0) - STEP, self.local(d, bedtime_h))
            self._at(d, bedtime_h, water=0.006)  # bedtime: flush, lamp off (the switch-off itself is no sign of life)
        # the incident day: breakfast as usual, the kettle at supper, the lamp on... and nothing more
        self._at(days, 7.0, kettle=True, water=0.003)
        self._at(days, 12.0, water=0.006)
        self.fall = self._at(days, FALL_H, kettle=True)
        if lamp_after_fall:
            self._lamp(self.fall - STEP, self.ts[-1])

    def local(self, day: int, hour: float) -> float:
        return (self.day0 + timedelta(days=day, hours=hour)).timestamp()

    def _at(self, day: int, hour: float, kettle: bool = False, water: float = 0.0) -> float:
        """Use in the interval ending at local ``hour`` of ``day``; that reading's time."""
        k = int(np.searchsorted(self.ts, self.local(day, hour)))
        if kettle:
            self.power_w[k] += KETTLE_W
        self.water_m3[k] += water
        return float(self.ts[k])

    def _lamp(self, on: float, off: float) -> None:
        self.power_w[(self.ts > on) & (self.ts <= off)] += LAMP_W

    def readings(self, reg: Registry, every: int = 1) -> ReadingBatch:
        power = np.round(1000.0 + np.cumsum(self.power_w * STEP / H / 1000.0), 3)  # kWh at 1 Wh
        water = np.round(10.0 + np.cumsum(self.water_m3), 3)
        ts, power, water = self.ts[::every], power[::every], water[::every]
        meter = np.r_[np.full(len(ts), reg.meter_index["W1"]), np.full(len(ts), reg.meter_index["E1"])]
        return ReadingBatch(meter.astype(np.int32), np.r_[ts, ts], np.r_[water, power])


def welfare_alarms(detector: Detector, batch: ReadingBatch, step_s: float = STEP) -> list[tuple[float, float, dict[str, float]]]:
    """(episode start, opened at, evidence) of every critical no_usage alarm."""
    return [(a.key.episode_start, a.at, dict(a.evidence)) for a in replay(detector, windows(batch, step_s))
            if a.state is AlertState.OPENED and a.rule == Rule.NO_USAGE.value and a.severity is Severity.CRITICAL]


def shanghai_home(lamp_after_fall: bool = True) -> Home:
    return Home(datetime(2026, 9, 1, tzinfo=SHANGHAI), lamp_after_fall)


def test_a_lamp_left_on_after_a_fall_alarms_after_its_six_hours_not_twelve() -> None:
    reg, home = registry(), shanghai_home()
    alarms = welfare_alarms(Detector(reg, thresholds()), home.readings(reg))
    # evenings with the lamp (4.5 h of it, then bed) and nights (8.5 h) never alarmed
    assert [s for s, _, _ in alarms] == [home.fall]
    (start, opened, evidence), = alarms
    assert opened - start == pytest.approx(6 * H, abs=STEP)  # the first sweep at or after 6 h
    assert evidence["left_on_threshold_s"] == 6 * H
    assert evidence["threshold_s"] == 12 * H  # the configured threshold is still reported beside it
    assert evidence["left_on_s"] >= 6 * H
    # quiet is the standby (fridge resting), stored in 8 W steps rounded down
    assert STANDBY_W - 8.0 <= evidence["quiet_w"] <= STANDBY_W
    assert evidence["power_w"] == pytest.approx(STANDBY_W + LAMP_W + FRIDGE_W * (evidence["power_w"] > 150), abs=5.0)


def test_without_the_lamp_the_same_fall_waits_for_the_configured_twelve_hours() -> None:
    reg, home = registry(), shanghai_home(lamp_after_fall=False)
    alarms = welfare_alarms(Detector(reg, thresholds()), home.readings(reg))
    assert [(s, pytest.approx(at - s, abs=STEP)) for s, at, _ in alarms] == [(home.fall, 12 * H)]
    assert "left_on_s" not in alarms[0][2]


def test_left_on_off_waits_for_the_configured_hours_whatever_burns() -> None:
    reg, home = registry(), shanghai_home()
    alarms = welfare_alarms(Detector(reg, thresholds(left_on="~")), home.readings(reg))
    assert [(s, pytest.approx(at - s, abs=STEP)) for s, at, _ in alarms] == [(home.fall, 12 * H)]


def test_hourly_readings_never_show_a_load_left_on() -> None:
    # an hour's mean blurs a 60 W lamp into the fridge's cycles: the configured hours hold
    reg, home = registry(), shanghai_home()
    alarms = welfare_alarms(Detector(reg, thresholds()), home.readings(reg, every=4), step_s=H)
    assert len(alarms) == 1
    start, opened, evidence = alarms[0]
    assert opened - start == pytest.approx(12 * H, abs=H)
    assert "left_on_s" not in evidence


def test_the_same_alarm_and_state_whatever_the_batches() -> None:
    reg, home = registry(), shanghai_home()
    batch = home.readings(reg)
    detectors = [Detector(reg, thresholds()) for _ in range(3)]
    results = [welfare_alarms(d, batch, step) for d, step in zip(detectors, (STEP, 7 * STEP, 86400.0), strict=True)]
    # a daily batch is judged once, at its end: it finds the same episode (and no other)
    assert [s for s, _, _ in results[0]] == [s for s, _, _ in results[1]] == [s for s, _, _ in results[2]] == [home.fall]
    for field in ("quiet_today", "quiet_yesterday", "left_on_min"):
        reference = getattr(detectors[0].meters, field)
        for other in detectors[1:]:
            np.testing.assert_array_equal(reference, getattr(other.meters, field))


@pytest.mark.parametrize("change", ["2026-03-28", "2026-10-24"])
def test_a_lamp_left_on_across_a_daylight_saving_night_counts_real_hours(change: str) -> None:
    # the fall at 22:00 local on the evening before the change: 6 real hours end at 05:00 or 03:00
    brussels = ZoneInfo("Europe/Brussels")
    day0 = datetime.fromisoformat(change).replace(tzinfo=brussels) - timedelta(days=DAYS)
    reg = registry()
    # supper at 18:00 without the lamp, then the lamp and the kettle at 22:00, and the fall
    late = Home(day0, lamp_after_fall=False)
    late.fall = late._at(DAYS, 22.0, kettle=True)
    late._lamp(late.fall - STEP, late.ts[-1])
    alarms = welfare_alarms(Detector(reg, thresholds(tz="Europe/Brussels")), late.readings(reg))
    assert [s for s, _, _ in alarms] == [late.fall]
    assert alarms[0][1] - late.fall == pytest.approx(6 * H, abs=STEP)  # real seconds, not local-clock hours
