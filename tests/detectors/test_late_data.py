"""Late and backfilled readings: activity they show clears an alert, and nothing is
flagged for time the readings don't cover."""

from __future__ import annotations

import numpy as np
from homes import DAY, T0, THRESHOLDS, H, registry

from detectors.detector import Detector
from detectors.thresholds import Thresholds
from lifesign.alerts import AlertState
from lifesign.readings import ReadingBatch

STEP = 900.0


def rounds(meter: int, start: float, end: float, value: float, per_step: float = 0.0) -> ReadingBatch:
    ts = np.arange(start, end + 1, STEP)
    return ReadingBatch.of(np.full(len(ts), meter), ts, value + per_step * np.arange(len(ts)))


def test_readings_that_stop_before_the_deadline_never_confirm_a_silence() -> None:
    reg = registry()
    detector = Detector(reg, Thresholds.parse(THRESHOLDS))
    w, e = reg.meter_index["W-H1"], reg.meter_index["E-H1"]
    start = T0 + DAY + 10 * H  # 10:00 local, last activity
    detector.observe(ReadingBatch.concat([rounds(w, start, start + 4 * H, 5.0), rounds(e, start, start + 4 * H, 7.0, 0.01)]))
    # other homes keep the detector's clock moving for two days
    other = reg.meter_index["W-H2"]
    hourly = rounds(other, start, start + 2 * DAY, 1.0)
    detector.observe(ReadingBatch(hourly.meter, hourly.ts, 1.0 + 0.006 * (np.arange(len(hourly)) // 4)))
    alerts = detector.sweep(start + 2 * DAY)
    assert {(a.household_id, a.rule) for a in alerts} == {("H1", "meter_offline")}


def test_a_silence_confirmed_by_power_alone_clears_when_late_water_shows_activity() -> None:
    reg = registry()
    detector = Detector(reg, Thresholds.parse(THRESHOLDS))
    w, e = reg.meter_index["W-H1"], reg.meter_index["E-H1"]
    start = T0 + DAY + 10 * H
    # water's gateway buffers from 10:00; power keeps reporting a fridge only
    detector.observe(ReadingBatch.concat([rounds(w, start, start, 5.0), rounds(e, start, start + 9 * H, 7.0, 0.01)]))
    opened = detector.sweep(start + 9 * H)
    assert {(a.rule, a.state) for a in opened} == {("meter_offline", AlertState.OPENED), ("no_usage", AlertState.OPENED)}
    silence = next(a for a in opened if a.rule == "no_usage")
    # the buffered water readings arrive: a tap at 15:00
    backfill = rounds(w, start + STEP, start + 9 * H, 5.0)
    backfill = ReadingBatch(backfill.meter, backfill.ts, np.where(backfill.ts >= start + 5 * H, 5.004, 5.0))
    detector.observe(backfill)
    cleared = detector.sweep(start + 9 * H)
    by_rule = {a.rule: a for a in cleared}
    assert by_rule["no_usage"].state is AlertState.CLEARED and by_rule["no_usage"].key == silence.key
    assert by_rule["no_usage"].evidence["usage_resumed"] == start + 5 * H
    assert len(cleared) == 2  # 4 h since the tap: no new silence
    assert by_rule["meter_offline"].state is AlertState.CLEARED


def test_a_lagging_meter_holds_the_alert_back_until_its_readings_confirm_the_silence() -> None:
    reg = registry()
    detector = Detector(reg, Thresholds.parse(THRESHOLDS))
    w, e = reg.meter_index["W-H1"], reg.meter_index["E-H1"]
    start = T0 + DAY + 10 * H
    detector.observe(ReadingBatch.concat([rounds(w, start, start + 5 * H, 5.0), rounds(e, start, start + 7 * H, 7.0, 0.01)]))
    assert detector.sweep(start + 7 * H) == []  # power says 7 h > 6 h, water only confirms 5 h
    detector.observe(rounds(w, start + 5 * H + STEP, start + 7 * H, 5.0))  # late, still flat
    opened = detector.sweep(start + 7 * H)
    assert [(a.rule, a.state, a.key.episode_start) for a in opened] == [("no_usage", AlertState.OPENED, start)]
    assert opened[0].evidence["confirmed_silence_s"] == 7 * H
