"""continuous_flow: water running on by itself is found; a busy hour in the kitchen is not.

One home with a water meter (15-minute register at 1 L) and nothing else. Each case lays
litres on a schedule; the expected alarm times come from the schedule and the configured
hours (any flow 3 h, a strong flow of 80 L/h for 1 h), never from the detector.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from detectors.backtest import replay, windows
from detectors.detector import Detector
from detectors.thresholds import Thresholds
from lifesign.alerts import AlertState, Rule
from lifesign.config.source import ConfigError
from lifesign.grid import Address, Household, Meter, Resident, Tier, Utility
from lifesign.readings import ReadingBatch
from lifesign.registry import Registry

H = 3600.0
STEP = 900.0
T0 = 1_790_000_100.0 - 1_790_000_100.0 % STEP  # a quarter-hour boundary
#: litres per quarter hour of a busy afternoon (from the independent cohort's pysimdeum homes:
#: a litre, a shower, a few litres): water in every interval, never evenly
BUSY_L = [2, 1, 7, 70, 7, 12, 1, 22, 5, 14, 3, 9]


def thresholds(flow: str = "{hours: 3, strong: {above_lph: 80, hours: 1}}") -> Thresholds:
    return Thresholds.parse(f"""
timezone: Asia/Shanghai
defaults:
  no_usage: {{hours: 12, adapt: ~}}
  continuous_flow: {flow}
""")


def registry() -> Registry:
    home = Household("H1", Address("C1", "G1", "B1", "1", "101"), Resident("R", 80, "p", "e"), Tier.GREEN)
    return Registry.from_records([home], [Meter("W1", "H1", Utility.WATER, "GW1")])


def flow_episodes(litres: list[float], th: Thresholds, batch_s: float = STEP) -> list[tuple[float, float]]:
    """(opened, episode start) of every continuous_flow alert, relative to the start of
    ``litres``, for ``litres[k]`` used in the interval ending (k+1) STEP (after 8 dry hours),
    the readings delivered every ``batch_s``."""
    lead = [0.0] * 32
    used = np.array(lead + litres + [0.0] * 8)
    ts = T0 + STEP * np.arange(1, len(used) + 1)
    register = 100.0 + np.cumsum(used) / 1000.0
    reg = registry()
    batch = ReadingBatch.of(np.zeros(len(ts), dtype=np.int32), ts, register)
    detector = Detector(reg, th)
    alerts = replay(detector, windows(batch, batch_s))
    start = T0 + len(lead) * STEP
    return [(a.at - start, a.key.episode_start - start) for a in alerts
            if a.rule == Rule.CONTINUOUS_FLOW.value and a.state is AlertState.OPENED]


def flow_alarms(litres: list[float], th: Thresholds) -> list[float]:
    """When continuous_flow opened (readings delivered as they come, every quarter hour)."""
    return [opened for opened, _ in flow_episodes(litres, th)]


def test_a_tap_left_running_is_found_after_an_hour_of_strong_flow() -> None:
    # the resident washes up (busy, uneven), then falls with the tap open: 120 L/h (30 L a quarter)
    litres = BUSY_L[:6] + [30.0] * 16
    opened = flow_alarms(litres, thresholds())
    # the strong run begins with the first 30 L interval (ending 7 STEP in); an hour of it is
    # four intervals: the fourth ends at 10 STEP
    assert opened == [pytest.approx(10 * STEP)]


def test_the_slow_path_finds_a_leak_after_three_hours() -> None:
    litres = [3.0] * 20  # 12 L/h: a cistern running on, under the strong rate
    assert flow_alarms(litres, thresholds()) == [pytest.approx(12 * STEP)]


def test_a_busy_afternoon_of_two_and_a_half_hours_is_not_an_alarm() -> None:
    litres = BUSY_L[:10]  # water in every interval for 2.5 h, unevenly
    assert flow_alarms(litres, thresholds()) == []
    # the rule as it was (any flow for 2 h) fired on it: the new limit is what keeps it quiet
    assert flow_alarms(litres, thresholds("{hours: 2, strong: ~}")) == [pytest.approx(8 * STEP)]


def test_a_busy_afternoon_that_runs_on_for_three_hours_is_found_by_the_slow_path() -> None:
    litres = BUSY_L + [4.0] * 4
    assert flow_alarms(litres, thresholds()) == [pytest.approx(12 * STEP)]


def test_strong_off_leaves_a_running_tap_to_the_slow_path() -> None:
    litres = [30.0] * 16
    assert flow_alarms(litres, thresholds("{hours: 3, strong: ~}")) == [pytest.approx(12 * STEP)]
    assert flow_alarms(litres, thresholds()) == [pytest.approx(4 * STEP)]


def test_a_dip_under_the_strong_rate_starts_the_strong_run_again() -> None:
    # 30 L, 30 L, then 10 L (40 L/h: under 80), then 30 L on: the hour counts from after the dip
    litres = [30.0, 30.0, 10.0] + [30.0] * 10
    assert flow_alarms(litres, thresholds()) == [pytest.approx(7 * STEP)]


@pytest.mark.parametrize("batch_s", [STEP, 2 * STEP, 3 * H])
def test_the_strong_run_is_the_same_whatever_the_batches(batch_s: float) -> None:
    litres = BUSY_L[:3] + [25.0] * 8
    (opened, start), = flow_episodes(litres, thresholds(), batch_s=batch_s)
    # due when the fourth 25 L interval ends (7 STEP); seen at the first sweep from then on
    assert 7 * STEP <= opened < 7 * STEP + batch_s
    assert start == 0.0  # one run of water from the first busy litre: one episode, whatever path


def test_a_tap_that_slows_after_the_alarm_keeps_its_episode_until_the_water_stops() -> None:
    # 120 L/h for 75 minutes (the strong path opens at 1 h), then 60 L/h for 3 h (under the
    # strong rate, before the slow path's 3 h), then dry: one episode, cleared at the first
    # dry interval, never in between
    litres = [30.0] * 5 + [15.0] * 12 + [0.0] * 4
    lead = [0.0] * 32
    used = np.array(lead + litres)
    ts = T0 + STEP * np.arange(1, len(used) + 1)
    batch = ReadingBatch.of(np.zeros(len(ts), dtype=np.int32), ts, 100.0 + np.cumsum(used) / 1000.0)
    start = T0 + len(lead) * STEP
    flow = [(a.state, a.at - start, a.key.episode_start - start) for a in replay(Detector(registry(), thresholds()),
                                                                                 windows(batch, STEP))
            if a.rule == Rule.CONTINUOUS_FLOW.value]
    assert flow == [(AlertState.OPENED, pytest.approx(4 * STEP), 0.0),
                    (AlertState.CLEARED, pytest.approx(18 * STEP), 0.0)]  # the interval ending 18 STEP is dry


@pytest.mark.parametrize(("dt", "lph"), [(900.0, 120.0), (890.0, 120.0), (45.0, 120.0), (20.0, 360.0)])
def test_the_strong_run_adds_up_exactly_whatever_the_batches_and_the_interval(dt: float, lph: float) -> None:
    # an hour of strong flow read every dt seconds (not always whole minutes), delivered in one
    # batch or one reading a batch: the strong run is the hour either way, as the any-flow run is
    n = round(H / dt)
    used = np.array([0.0] * 8 + [lph * dt / H / 1000.0] * n)
    ts = T0 + dt * np.arange(1, len(used) + 1)
    register = 100.0 + np.cumsum(used)
    m = np.zeros(len(ts), dtype=np.int32)
    runs = []
    for split in (False, True):
        detector = Detector(registry(), thresholds())
        if split:
            for k in range(len(ts)):
                detector.observe(ReadingBatch.of(m[k:k + 1], ts[k:k + 1], register[k:k + 1]))
        else:
            detector.observe(ReadingBatch.of(m, ts, register))
        meters = np.array([0])
        runs.append((float(detector.meters.strong_run_s(meters)[0]), float(detector.meters.flow_run_s[0])))
    assert runs == [(pytest.approx(n * dt), pytest.approx(n * dt))] * 2


def test_the_evidence_names_the_strong_path() -> None:
    litres = [40.0] * 8
    reg = registry()
    used = np.array([0.0] * 4 + litres)
    ts = T0 + STEP * np.arange(1, len(used) + 1)
    batch = ReadingBatch.of(np.zeros(len(ts), dtype=np.int32), ts, 100.0 + np.cumsum(used) / 1000.0)
    alerts = [a for a in replay(Detector(reg, thresholds()), windows(batch, STEP))
              if a.rule == Rule.CONTINUOUS_FLOW.value and a.state is AlertState.OPENED]
    assert len(alerts) == 1
    evidence = alerts[0].evidence
    assert evidence["strong_for_s"] == pytest.approx(H)
    assert evidence["strong_threshold_s"] == pytest.approx(H)
    assert evidence["strong_above_lph"] == pytest.approx(80.0)
    assert evidence["rate_lph"] == pytest.approx(160.0, rel=1e-3)  # kept to float16's 3 digits
    assert evidence["flow_since"] == pytest.approx(T0 + 4 * STEP)


@pytest.mark.parametrize(("flow", "message"), [
    ("{strong: {above_lph: 0}}", "defaults.continuous_flow.strong.above_lph must be > 0, got 0"),
    ("{strong: {hours: 5}}", "defaults.continuous_flow.strong.hours must be <= 4, got 5"),
    ("{strong: {lph: 80}}", "defaults.continuous_flow.strong.lph is not a known key (expected one of above_lph, hours)"),
])
def test_bad_strong_settings_are_named(flow: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        thresholds(flow)


# -- a flow that runs on is not life, whatever its register's rounding ---------------------

def no_usage_opened(litres: list[float]) -> list[float]:
    """When the welfare alarm opened (relative to the start of ``litres``), for a register of
    whole litres read every 15 minutes (the flow's litres accumulate and round down, as a
    meter's register does)."""
    lead = [0.0] * 32
    used = np.array(lead + litres)
    ts = T0 + STEP * np.arange(1, len(used) + 1)
    register = np.floor(100_000.0 + np.cumsum(used)) / 1000.0
    batch = ReadingBatch.of(np.zeros(len(ts), dtype=np.int32), ts, register)
    alerts = replay(Detector(registry(), thresholds()), windows(batch, STEP))
    start = T0 + len(lead) * STEP
    return [a.at - start for a in alerts if a.rule == Rule.NO_USAGE.value and a.state is AlertState.OPENED
            and a.severity.value == "critical"]


@pytest.mark.parametrize("lph", [6.0, 30.0, 137.0])
def test_a_tap_left_running_after_a_fall_does_not_hide_the_silence(lph: float) -> None:
    # the resident fills the kettle (the last sign of life), falls, and the tap runs on at a
    # rate that is not a whole number of litres a quarter hour (30 L/h: 7.5 L, read 7, 8, 7, 8)
    litres = [3.0] + [lph / 4.0] * (4 * 30)
    opened = no_usage_opened(litres)
    # the run begins with the kettle's interval, and the first hour of any run is use
    # (base_flow_after_minutes: 60): its fourth interval, ending 4 STEP in, is the last sign
    # of life; 12 h later the alarm
    assert opened == [pytest.approx(4 * STEP + 12 * H)]


def test_use_on_top_of_a_running_cistern_is_still_life() -> None:
    # a cistern runs at 6 L/h all along; the resident flushes (6 L more) at 8 h and then falls
    litres = [1.5] * (4 * 30)
    flush = 4 * 8  # the interval ending 33 STEP in
    litres[flush] += 6.0
    opened = no_usage_opened(litres)
    assert opened == [pytest.approx((flush + 1) * STEP + 12 * H)]


def test_a_strong_flow_that_begins_inside_a_running_cistern_counts_from_its_own_start() -> None:
    # a cistern runs at 12 L/h for an hour, then a tap opens on top (120 L/h more): the strong
    # hour runs from the tap's first interval (ending 5 STEP in) to 8 STEP, the slow path's 3 h
    # would be 12 STEP
    litres = [3.0] * 4 + [33.0] * 8
    used = np.array([0.0] * 8 + litres)
    ts = T0 + STEP * np.arange(1, len(used) + 1)
    batch = ReadingBatch.of(np.zeros(len(ts), dtype=np.int32), ts, 100.0 + np.cumsum(used) / 1000.0)
    start = T0 + 8 * STEP
    opened = [a for a in replay(Detector(registry(), thresholds()), windows(batch, STEP))
              if a.rule == Rule.CONTINUOUS_FLOW.value and a.state is AlertState.OPENED]
    assert [a.at - start for a in opened] == [pytest.approx(8 * STEP)]
    assert opened[0].evidence["strong_for_s"] == pytest.approx(H)
    assert opened[0].evidence["flowing_for_s"] == pytest.approx(2 * H)
    assert opened[0].key.episode_start == pytest.approx(start)  # the run's start: the cistern's
