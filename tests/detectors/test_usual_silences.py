"""A home's routine silence stops alarming; an incident outside the routine does not wait.

One home (water + electricity, 15-minute registers, Asia/Shanghai): the power meter shows a
fridge only (never a sign of life), water is used at set local times. Expected alarm times
come from the schedule and the configured hours, not from the detector.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from detectors.backtest import replay, windows
from detectors.detector import Detector
from detectors.thresholds import Thresholds
from detectors.usual import UsualSilences
from lifesign.alerts import AlertState, Rule, Severity
from lifesign.grid import Address, Household, Meter, Resident, Tier, Utility
from lifesign.readings import ReadingBatch
from lifesign.registry import Registry

TZ = ZoneInfo("Asia/Shanghai")
H = 3600.0
STEP = 900.0
DAY0 = datetime(2026, 9, 1, tzinfo=TZ)


def thresholds(adapt: str = "{max_hours: 24}") -> Thresholds:
    # routines are what these tests watch: a power-meter-only home's floor has its own tests
    return Thresholds.parse(f"""
timezone: Asia/Shanghai
defaults:
  no_usage: {{hours: 12, max_data_lag_minutes: 20, adapt: {adapt}, electricity_only: ~}}
""")


def registry() -> Registry:
    home = Household("H1", Address("C1", "G1", "B1", "1", "101"), Resident("R", 80, "p", "e"), Tier.GREEN)
    return Registry.from_records([home], [Meter("W1", "H1", Utility.WATER, "GW1"), Meter("E1", "H1", Utility.ELECTRICITY, "GW1")])


def local(day: int, hour: float) -> float:
    return (DAY0 + timedelta(days=day, hours=hour)).timestamp()


def readings(reg: Registry, uses: list[float], end: float) -> ReadingBatch:
    """Water 2 L at each time in ``uses`` (rounded up to the next reading), a 60 W fridge."""
    ts = np.arange(local(0, 0), end, STEP)
    water = np.zeros(len(ts))
    for at in uses:
        k = int(np.searchsorted(ts, at))
        if k < len(ts):
            water[k] += 0.002
    water_register = 10.0 + np.cumsum(water)
    power_register = 100.0 + 0.06 * (ts - ts[0]) / H
    meter = np.r_[np.full(len(ts), reg.meter_index["W1"]), np.full(len(ts), reg.meter_index["E1"])].astype(np.int32)
    return ReadingBatch(meter, np.r_[ts, ts], np.r_[water_register, power_register])


def welfare_alarms(detector: Detector, batch: ReadingBatch, step_s: float = STEP) -> list[tuple[float, float, dict[str, float]]]:
    """(episode start, opened at, evidence) of every critical no_usage alarm."""
    return [(a.key.episode_start, a.at, dict(a.evidence)) for a in replay(detector, windows(batch, step_s))
            if a.state is AlertState.OPENED and a.rule == Rule.NO_USAGE.value and a.severity is Severity.CRITICAL]


def routine(days: int) -> list[float]:
    """Up at 09:00, water at 09:00 and 14:00, then nothing until 09:00 the next day: 19 h."""
    return [local(d, h) for d in range(days) for h in (9.0, 14.0)]


def test_a_daily_routine_silence_stops_alarming_within_days() -> None:
    reg = registry()
    batch = readings(reg, routine(21), local(21, 0))
    alarms = welfare_alarms(Detector(reg, thresholds()), batch)
    routine_starts = [local(d, 14.0) for d in range(21)]
    # the first nights alarm at the configured 12 h (nothing learned yet)...
    assert [s for s, _, _ in alarms[:3]] == routine_starts[:3]
    assert [at - s for s, at, _ in alarms[:2]] == [pytest.approx(12 * H, abs=STEP)] * 2
    # ... the routine's last week is quiet, and no alarm ever came sooner than configured
    assert all(s < local(14, 0) for s, _, _ in alarms)
    assert all(at - s >= 12 * H - STEP for s, at, _ in alarms)


def test_the_same_routine_alarms_every_night_with_adapt_off() -> None:
    reg = registry()
    batch = readings(reg, routine(21), local(21, 0))
    alarms = welfare_alarms(Detector(reg, thresholds("~")), batch)
    # every 14:00 -> 09:00 silence passes 12 h; the last one is still running at the end
    assert [s for s, _, _ in alarms] == [local(d, 14.0) for d in range(20)]


def test_an_incident_outside_the_routine_is_found_at_the_configured_hours() -> None:
    reg = registry()
    uses = routine(21) + [local(21, 9.0)]  # day 21: up at 09:00 as always, then nothing
    batch = readings(reg, uses, local(23, 0))
    alarms = welfare_alarms(Detector(reg, thresholds()), batch)
    incident = [(s, at) for s, at, _ in alarms if s == local(21, 9.0)]
    assert len(incident) == 1
    # the morning slot's usual silence is 5 h: nothing to raise, the configured 12 h holds
    assert incident[0][1] - incident[0][0] == pytest.approx(12 * H, abs=STEP)


def test_an_incident_inside_the_routine_waits_longer_but_never_past_the_cap() -> None:
    reg = registry()
    uses = routine(21) + [local(21, 9.0), local(21, 14.0)]  # day 21: 14:00, then nothing
    batch = readings(reg, uses, local(24, 0))
    alarms = welfare_alarms(Detector(reg, thresholds()), batch)
    incident = [(s, at, ev) for s, at, ev in alarms if s == local(21, 14.0)]
    assert len(incident) == 1
    start, at, evidence = incident[0]
    assert 12 * H < at - start <= 24 * H + STEP
    # the evidence says the routine raised it, beside the configured threshold
    assert evidence["configured_threshold_s"] == 12 * H
    assert 12 * H < evidence["threshold_s"] <= 24 * H


def test_silences_as_long_as_the_cap_teach_nothing() -> None:
    reg = registry()
    uses = [local(0, 9.0) + k * 26 * H for k in range(12)]  # 26 h apart: absences, not a routine
    batch = readings(reg, uses, uses[-1] + 2 * H)
    alarms = welfare_alarms(Detector(reg, thresholds()), batch)
    assert [s for s, _, _ in alarms] == uses[:-1]
    assert all(at - s == pytest.approx(12 * H, abs=STEP) for s, at, _ in alarms)


@pytest.mark.parametrize("window_s", [STEP, 86400.0, 30 * 86400.0])
def test_what_is_learned_does_not_depend_on_batch_sizes(window_s: float) -> None:
    reg = registry()
    batch = readings(reg, routine(14) + [local(3, 20.0), local(7, 2.0)], local(14, 0))
    by_quarter = Detector(reg, thresholds())
    for _, window in windows(batch, STEP):
        by_quarter.observe(window)
    other = Detector(reg, thresholds())
    for _, window in windows(batch, window_s):
        other.observe(window)
    assert by_quarter.households.usual.usual.any()
    np.testing.assert_array_equal(other.households.usual.usual, by_quarter.households.usual.usual)


def test_a_restart_keeps_the_routine_and_does_not_learn_the_rebuilt_days_twice() -> None:
    reg = registry()
    batch = readings(reg, routine(23), local(23, 0))
    before = batch.take(np.flatnonzero(batch.ts < local(21, 0)))
    running = Detector(reg, thresholds())
    welfare_alarms(running, before)
    saved = running.routines()
    # the service restarts on day 21: routines restored, then two days rebuilt from history
    rebuilt = batch.take(np.flatnonzero((batch.ts >= local(19, 0)) & (batch.ts < local(21, 0))))
    restarted = Detector(reg, thresholds())
    assert restarted.restore_routines(saved) == 1
    restarted.observe(rebuilt)
    np.testing.assert_array_equal(restarted.households.usual.usual, saved.usual)
    after = batch.take(np.flatnonzero(batch.ts >= local(21, 0)))
    assert welfare_alarms(restarted, after) == []
    # without what was saved, the same restart alarms on the routine again: the silence
    # running across the restart and the next one
    forgetful = Detector(reg, thresholds())
    forgetful.observe(rebuilt)
    assert [s for s, _, _ in welfare_alarms(forgetful, after)] == [local(20, 14.0), local(21, 14.0)]


# -- hourly readings: a silence is measured to the hour at both ends -------------------------

def hourly_home() -> Registry:
    home = Household("H1", Address("C1", "G1", "B1", "1", "101"), Resident("R", 80, "p", "e"), Tier.GREEN)
    return Registry.from_records([home], [Meter("E1", "H1", Utility.ELECTRICITY, "GW1")])


def hourly_power(reg: Registry, up_hours: list[tuple[float, float]], end: float) -> ReadingBatch:
    """An hourly kWh register: 30 W standby, 430 W during each (start, end) of ``up_hours``
    (whole local hours)."""
    ts = np.arange(local(0, 0), end + H / 2, H)
    watts = np.full(len(ts) - 1, 30.0)
    for a, b in up_hours:
        watts[(ts[:-1] >= a) & (ts[:-1] < b)] = 430.0
    register = 100.0 + np.r_[0.0, np.cumsum(watts / 1000.0)]
    return ReadingBatch(np.full(len(ts), reg.meter_index["E1"], dtype=np.int32), ts, register)


def test_an_hourly_routine_is_learned_to_the_reading_interval() -> None:
    """Up 19:00-23:00 every evening, nothing else. On hourly means the switch-on shows at the
    20:00 reading; the switch-off shows at 00:00 against the interval before, and at 01:00 and
    02:00 against two and three intervals back (a ramp), each dated at the start of the quieter
    interval read: the last sign of life is 01:00. So the routine measures 19 h (01:00 ->
    20:00), known to an hour at each end. 14 days move the usual silence a third of the way
    each toward 19 h + one interval (0.66^14 x 20 h < 0.1 h left; quarter-hour rounding stops
    at most 3/8 h short): at least 19.5 h, a threshold of at least 20.5 h. On day 14 the
    resident gets up at 21:00: the 21:00 reading confirms 20 h of silence, and a deadline must
    lie within the 20-minute data lag of it to alarm (learned toward 19 h alone, 18.75 + 1 h,
    it would), and the 22:00 reading shows the switch-on."""
    reg = hourly_home()
    days = 14
    evenings = [(local(d, 19.0), local(d, 23.0)) for d in range(days)] + [(local(days, 21.0), local(days, 23.0))]
    batch = hourly_power(reg, evenings, local(days + 1, 12.0))
    alarms = welfare_alarms(Detector(reg, thresholds()), batch)
    # learning starts from nothing: the first nights alarm at the configured 12 h (the watch
    # starts at day 0's 00:00; then from 01:00, the evening's last sign of life)
    assert [s for s, _, _ in alarms[:3]] == [local(0, 0.0), local(1, 1.0), local(2, 1.0)]
    assert all(at - s == pytest.approx(12 * H, abs=STEP) for s, at, _ in alarms[:3])
    assert [s for s, _, _ in alarms if s >= local(days, 0.0)] == []


def test_silences_read_on_hourly_readings_are_learned_one_interval_longer() -> None:
    """One 19 h silence in an empty slot moves the usual a third of the way toward it: seen
    on 15-minute readings that is 19 x 0.34 = 6.46 h (6.5 h in quarter hours); on hourly
    readings toward 19 + 2 x 1 - 1 = 20 h: 6.8 h (6.75 h). Readings 10 h apart are a gap,
    not a resolution: taken as hourly."""
    tz = ZoneInfo("Asia/Shanghai")
    start = local(0, 0.0)
    learned = []
    for interval in (None, 900.0, 3600.0, 36000.0):
        usual = UsualSilences(1)
        usual.learn(np.array([0]), np.array([start + 19 * H]), np.array([start]), np.array([24 * H]), tz,
                    None if interval is None else np.array([interval]))
        learned.append(float(usual.usual[0].max()) * 0.25)
    assert learned == [6.5, 6.5, 6.75, 6.75]


def test_a_batch_of_only_repeated_readings_teaches_nothing_again() -> None:
    """A retransmitted batch (every reading already seen) shows no activity: the silence the
    first copy ended is learned once (19 h x 0.34 = 6.5 h), not twice (10.75 h)."""
    reg = registry()
    batch = readings(reg, [local(0, 9.0), local(0, 14.0), local(1, 9.0)], local(1, 10.0))
    detector = Detector(reg, thresholds())
    detector.observe(batch.take(np.flatnonzero(batch.ts < local(1, 9.0))))
    ending = batch.take(np.flatnonzero(batch.ts >= local(1, 9.0)))
    detector.observe(ending)
    detector.observe(ending)
    assert float(detector.households.usual.usual[0].max()) * 0.25 == 6.5


def windowed(adapt: str = "") -> Thresholds:
    """The routine's home with windows (as `lifesign learn` writes them): the night counts half."""
    extra = f", adapt: {adapt}" if adapt else ""
    return Thresholds.parse(f"""
timezone: Asia/Shanghai
defaults:
  no_usage: {{hours: 12, max_data_lag_minutes: 20, adapt: {{max_hours: 24}}}}
households:
  H1: {{no_usage: {{hours: 12, windows: [{{from: "22:00", to: "06:00", weight: 0.5}}]{extra}}}}}
""")


def test_a_home_with_windows_learns_its_routine_where_its_windows_say_so() -> None:
    # 14:00 -> 09:00 silences: by the windows 8 h count to 22:00 and the other 4 weighted hours
    # take 8 real hours of night, so the configured deadline is 06:00, 16 h on
    reg = registry()
    batch = readings(reg, routine(21), local(21, 0))
    # `adapt` beside the windows (what `lifesign learn --method calibrated` writes)
    learning = welfare_alarms(Detector(reg, windowed("{max_hours: 24}")), batch)
    assert [s for s, _, _ in learning[:2]] == [local(0, 14.0), local(1, 14.0)]
    assert [at - s for s, at, _ in learning[:2]] == [pytest.approx(16 * H, abs=STEP)] * 2
    # the routine raises the deadline past 09:00 within days, as for a home without windows
    assert learning and all(s < local(14, 0) for s, _, _ in learning)
    # windows alone (a file learned before) or `adapt: ~` (rhythm's) keep them as written,
    # whatever the defaults say
    every_night = [(local(d, 14.0), local(d + 1, 6.0)) for d in range(20)]
    for adapt in ("", "~"):
        fixed = welfare_alarms(Detector(reg, windowed(adapt)), batch)
        assert [(s, at) for s, at, _ in fixed] == every_night
