from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from detectors.detector import Detector
from detectors.thresholds import Thresholds
from lifesign.alerts import AlertState
from lifesign.grid import Address, Household, Meter, Resident, Tier, Utility
from lifesign.readings import ReadingBatch
from lifesign.registry import Registry

T0 = 1_763_700_000.0
H = 3600.0

THRESHOLDS = """
defaults: {no_usage: {hours: 12}}
tiers: {red: {no_usage: {hours: 10}}}
households: {H3: {no_usage: {hours: 4}}}
"""


def make_registry() -> Registry:
    households = [
        Household(f"H{i}", Address("C1", "G1", f"B{i}", "1", "101"), Resident("R", 80, "p", "e"), tier)
        for i, tier in [(1, Tier.GREEN), (2, Tier.RED), (3, Tier.GREEN)]
    ]
    meters = []
    for i in (1, 2, 3):
        meters.append(Meter(f"W{i}", f"H{i}", Utility.WATER, "GW1"))
        meters.append(Meter(f"E{i}", f"H{i}", Utility.ELECTRICITY, "GW1"))
    return Registry.from_records(households, meters)


def feed(detector: Detector, registry: Registry, hours: float, *, active: set[str], start: float = T0,
         water: dict[str, float] | None = None, power_w: float | Callable[[int], float] = 50.0,
         step_s: float = 900.0) -> float:
    """Feed 15-minute readings for `hours`; households in `active` use water every other interval
    (a flow that never varies is a running toilet, not a person). ``power_w`` may depend on the step."""
    water = water if water is not None else {}
    kwh = {}
    t = start
    n = int(hours * 3600 / step_s)
    for k in range(n):
        t += step_s
        meters, ts, values = [], [], []
        for hh in ("H1", "H2", "H3"):
            if hh in active and k % 2 == 0:
                water[hh] = water.get(hh, 10.0) + 0.006
            meters += [registry.meter_index[f"W{hh[1:]}"], registry.meter_index[f"E{hh[1:]}"]]
            kwh[hh] = kwh.get(hh, 100.0) + (power_w(k) if callable(power_w) else power_w) * step_s / 3.6e6
            ts += [t, t]
            values += [round(water.get(hh, 10.0), 3), round(kwh[hh], 2)]
        detector.observe(ReadingBatch.of(meters, ts, values))
    return t


def test_silence_past_the_threshold_opens_one_episode_per_household() -> None:
    registry = make_registry()
    detector = Detector(registry, Thresholds.parse(THRESHOLDS))
    water: dict[str, float] = {}
    t = feed(detector, registry, 2, active={"H1", "H2", "H3"}, water=water)
    assert detector.sweep(t) == []
    # Everyone falls silent (fridge keeps the electricity register moving: not activity).
    t = feed(detector, registry, 4.5, active=set(), start=t, water=water)
    opened = detector.sweep(t)
    assert [(a.household_id, a.state) for a in opened] == [("H3", AlertState.OPENED)]
    assert opened[0].key.episode_start == pytest.approx(T0 + 2 * H)
    assert opened[0].evidence["threshold_s"] == 4 * H
    assert opened[0].evidence["confirmed_silence_s"] > 4 * H
    assert opened[0].evidence["last_usage_water"] == pytest.approx(T0 + 2 * H)
    t = feed(detector, registry, 6, active=set(), start=t, water=water)
    assert [a.household_id for a in detector.sweep(t)] == ["H2"]  # red: 10 h
    t = feed(detector, registry, 2, active=set(), start=t, water=water)
    assert [a.household_id for a in detector.sweep(t)] == ["H1"]  # green: 12 h
    assert detector.sweep(t) == []  # an open episode is reported once


def test_usage_resuming_clears_the_episode_and_a_new_silence_is_a_new_episode() -> None:
    registry = make_registry()
    detector = Detector(registry, Thresholds.parse(THRESHOLDS))
    water: dict[str, float] = {}
    t = feed(detector, registry, 5, active=set(), water=water)
    first = [a for a in detector.sweep(t) if a.household_id == "H3"]
    assert len(first) == 1
    t = feed(detector, registry, 0.25, active={"H3"}, start=t, water=water)
    cleared = detector.sweep(t)
    assert [(a.household_id, a.state) for a in cleared] == [("H3", AlertState.CLEARED)]
    assert cleared[0].key == first[0].key
    assert "usage_resumed" in cleared[0].evidence
    t = feed(detector, registry, 4.5, active=set(), start=t, water=water)
    again = [a for a in detector.sweep(t) if a.household_id == "H3"]
    assert len(again) == 1 and again[0].key.episode_start > first[0].key.episode_start


def test_a_load_left_on_is_not_life_but_switching_is() -> None:
    registry = make_registry()
    # A fridge alone, a 400 W heater left on, a 190 W fridge-freezer cycling, and two 160 W cold
    # appliances over a 50 W standby that start in the same quarter hour every 3 hours (320 W
    # together; the 0.01 kWh register rounds each quarter hour's energy, so it reads 280-360 W):
    # levels and cycles of automatic loads, not a person. H3 (4 h) falls silent in each case.
    two_cold = lambda k: 50.0 + 160.0 * (k % 3 == 0) + 160.0 * (k % 4 == 0)
    for power in (60.0, 400.0, lambda k: 40.0 + 190.0 * (k % 3 == 0), two_cold):
        detector = Detector(registry, Thresholds.parse(THRESHOLDS))
        t = feed(detector, registry, 5, active=set(), power_w=power)
        assert [a.household_id for a in detector.sweep(t)] == ["H3"], power
    # A kettle (2 kW for one quarter hour) every 3 hours: someone is there.
    detector = Detector(registry, Thresholds.parse(THRESHOLDS))
    t = feed(detector, registry, 5, active=set(), power_w=lambda k: 60.0 + 2000.0 * (k % 12 == 5))
    assert detector.sweep(t) == []
    # A TV and a lamp (450 W) switched on for an hour every 3 hours beside the same two cold
    # appliances, in a quarter hour when neither of them starts or stops (read as 400-480 W more
    # than the one before): more than two of them make together, so someone is there.
    detector = Detector(registry, Thresholds.parse(THRESHOLDS))
    t = feed(detector, registry, 5, active=set(), power_w=lambda k: two_cold(k) + 450.0 * (k % 12 in (11, 0, 1, 2)))
    assert detector.sweep(t) == []


def test_a_meter_that_stops_reporting_does_not_extend_the_silence() -> None:
    registry = make_registry()
    detector = Detector(registry, Thresholds.parse(THRESHOLDS))
    # Only electricity keeps reporting for H3; water went quiet on the network side.
    e3 = registry.meter_index["E3"]
    w3 = registry.meter_index["W3"]
    detector.observe(ReadingBatch.of([w3, e3], [T0, T0], [10.0, 100.0]))
    t = T0
    for i in range(1, 21):
        t = T0 + i * 900
        detector.observe(ReadingBatch.of([e3], [t], [100.0 + i * 0.01]))
    assert detector.sweep(t) == []  # 5 h > H3's 4 h, but water confirms silence only up to T0
    for i in range(21, 30):
        t = T0 + i * 900
        detector.observe(ReadingBatch.of([e3], [t], [100.0 + i * 0.01]))
    # Past the 6 h offline limit water is a maintenance job, and electricity alone confirms the silence.
    alerts = {(a.rule, a.severity.value, a.utilities) for a in detector.sweep(t)}
    assert alerts == {("meter_offline", "warning", ("water",)), ("no_usage", "critical", ("electricity",))}


def test_late_and_duplicate_readings_never_move_state_backwards() -> None:
    registry = make_registry()
    detector = Detector(registry, Thresholds.parse(THRESHOLDS))
    w1 = registry.meter_index["W1"]
    detector.observe(ReadingBatch.of([w1, w1], [T0 + 900, T0 + 900], [10.0, 10.0]))
    detector.observe(ReadingBatch.of([w1], [T0], [9.0]))  # late, older
    assert detector.meters.last_ts[w1] == T0 + 900
    assert detector.meters.last_value[w1] == 10.0
    assert detector.meters.late_readings == 1


def test_a_register_going_backwards_rebaselines_without_counting_as_usage() -> None:
    registry = make_registry()
    detector = Detector(registry, Thresholds.parse(THRESHOLDS))
    w1 = registry.meter_index["W1"]
    detector.observe(ReadingBatch.of([w1, w1, w1], [T0, T0 + 900, T0 + 1800], [500.0, 0.0, 0.0]))
    assert detector.meters.rebaselines == 1
    assert np.isnan(detector.meters.last_usage(np.array([w1]))[0])
    assert detector.meters.last_value[w1] == 0.0


def test_same_results_whatever_the_meter_order_and_batch_split() -> None:
    registry = make_registry()
    rng = np.random.default_rng(7)
    n = 200
    meters = np.repeat(np.arange(registry.n_meters), n)
    ts = np.tile(T0 + np.arange(n) * 900.0, registry.n_meters)
    steps = rng.choice([0.0, 0.0, 0.0, 0.002], size=len(meters))
    values = np.concatenate([np.cumsum(steps[i * n:(i + 1) * n]) + 5 for i in range(registry.n_meters)])
    reference = Detector(registry, Thresholds.parse(THRESHOLDS))
    reference.observe(ReadingBatch.of(meters, ts, values))
    shuffled = Detector(registry, Thresholds.parse(THRESHOLDS))
    order = np.argsort(ts, kind="stable")  # time order across meters, in small batches
    for chunk in np.array_split(order, 37):
        shuffled.observe(ReadingBatch.of(meters[chunk], ts[chunk], values[chunk]))
    for field in ("last_ts", "last_value", "last_usage_s", "flow_run_s", "strong_lag", "day_usage", "norm_total", "norm_days",
                  "quiet_today", "quiet_yesterday", "left_on_min"):
        np.testing.assert_array_equal(getattr(reference.meters, field), getattr(shuffled.meters, field))
    end = T0 + n * 900
    assert [a.key for a in reference.sweep(end)] == [a.key for a in shuffled.sweep(end)]


def test_invalid_household_override_is_rejected_and_old_thresholds_kept() -> None:
    registry = make_registry()
    detector = Detector(registry, Thresholds.parse(THRESHOLDS))
    with pytest.raises(LookupError, match="households.H99 is not a registered household"):
        detector.apply_thresholds(Thresholds.parse("defaults: {no_usage: {hours: 1}}\nhouseholds: {H99: {no_usage: {hours: 2}}}"))
    h3 = registry.household_index["H3"]
    assert detector.table.home_s[detector.households.settings_row[h3]] == 4 * H


def test_all_detector_state_is_at_most_64_bytes_per_meter() -> None:
    # Two meters a home (water + electricity), the common case; gas only lowers the figure.
    homes = [Household(f"H{i}", Address("C1", "G1", f"B{i // 12}", "1", str(i)), Resident("R", 80, "p", "e"), Tier.GREEN)
             for i in range(1000)]
    meters = [Meter(f"{u.value[0]}{i}", f"H{i}", u, "GW1") for i in range(1000) for u in (Utility.WATER, Utility.ELECTRICITY)]
    registry = Registry.from_records(homes, meters)
    detector = Detector(registry, Thresholds.parse(THRESHOLDS))
    assert detector.state_nbytes / registry.n_meters <= 64


def test_interval_usage_meters_count_their_values_as_usage_not_register_steps() -> None:
    # Two homes with interval-usage meters (meters.csv `reading: interval`): each value is the
    # interval's usage. H1 uses 4 L every other quarter hour and 600 W, H2 sends zeros and
    # its fridge. Read as registers, H1's flat values would look like silence and H2's
    # up-and-down values like resets; read as intervals, only H2 is silent.
    households = [Household(f"H{i}", Address("C1", "G1", "B1", "1", f"10{i}"), Resident("R", 80, "p", "e"), Tier.RED)
                  for i in (1, 2)]
    meters = [Meter(f"{u.value[0].upper()}{i}", f"H{i}", u, "GW1", reading="interval") for i in (1, 2)
              for u in (Utility.WATER, Utility.ELECTRICITY)]
    registry = Registry.from_records(households, meters)
    detector = Detector(registry, Thresholds.parse("defaults: {no_usage: {hours: 4}}"))
    t = T0
    for k in range(int(6 * 3600 / 900)):
        t += 900.0
        detector.observe(ReadingBatch.of(
            [registry.meter_index[m] for m in ("W1", "E1", "W2", "E2")], [t] * 4,
            [0.004 * (k % 2), 0.15 if k % 2 else 0.025, 0.0, 0.0125]))  # 600/100 W and a 50 W fridge
    assert [(a.household_id, a.rule) for a in detector.sweep(t)] == [("H2", "no_usage")]
    assert detector.meters.rebaselines == 0
    assert detector.meters.last_usage(np.array([registry.meter_index["W1"]]))[0] == t
    assert detector.meters.last_usage(np.array([registry.meter_index["E1"]]))[0] == t
