"""Real life in the simulated homes: absences, false-alarm causes, appliances, incidents."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from simulators.absences import ABSENCE_KINDS, draw_absences
from simulators.accrual import RoundGrid
from simulators.cohort import make_cohort
from simulators.incidents import Incident
from simulators.lifestyle import Lifestyle
from simulators.meters import MeterCadence
from simulators.routine import DAY, HOUR
from simulators.scenario import Scenario

START = 20047 * DAY - 8 * HOUR  # 2024-11-20 00:00 local (UTC+8), a Wednesday


def registers(scenario: Scenario) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(households, rounds) water m³ and electricity kWh, and the round end times."""
    n, rounds = scenario.cohort.n_households, scenario.n_rounds
    water, kwh = np.full((n, rounds), np.nan), np.full((n, rounds), np.nan)
    for b in scenario.blocks():
        water[b.rows, b.first_round:b.first_round + b.grid.n] = b.water_m3
        kwh[b.rows, b.first_round:b.first_round + b.grid.n] = b.electricity_kwh
    assert not np.isnan(water).any() and not np.isnan(kwh).any()
    return water, kwh, scenario.start + (np.arange(rounds) + 1) * scenario.interval_s


def longest_quiet_at_home_h(scenario: Scenario) -> np.ndarray:
    """Per home: the longest run of rounds with no water and under 150 W, away time excluded."""
    water, kwh, ts = registers(scenario)
    h = scenario.interval_s / HOUR
    active = (np.diff(water, axis=1) > 0) | (np.diff(kwh, axis=1) / h >= 0.150)
    home = np.ones(active.shape, dtype=bool)
    for a in scenario.absences:
        i = scenario.cohort.registry.household_index[a.household_id]
        home[i] &= ~((ts[1:] > a.start) & (ts[:-1] < a.end))
    run = np.zeros(active.shape[0])
    longest = np.zeros(active.shape[0])
    for k in range(active.shape[1]):
        run = np.where(~active[:, k] & home[:, k], run + 1, 0.0)
        longest = np.maximum(longest, run)
    return longest * h


@pytest.fixture(scope="module")
def realistic() -> Scenario:
    cohort = make_cohort(200, 5, low_user_fraction=0.1, with_gas_fraction=0.2)
    return Scenario(cohort, START, 21, seed=5, lifestyle=Lifestyle.realistic(), absences=draw_absences(cohort, START, 21, 5))


def test_absences_are_seeded_non_overlapping_and_of_every_kind(realistic: Scenario) -> None:
    cohort = realistic.cohort
    again = draw_absences(cohort, START, 21, 5)
    assert again == realistic.absences != draw_absences(cohort, START, 21, 6)
    assert {a.kind for a in realistic.absences} == set(ABSENCE_KINDS)
    by_home: dict[str, list[tuple[float, float]]] = {}
    for a in realistic.absences:
        by_home.setdefault(a.household_id, []).append((a.start, a.end))
        assert a.end > START and a.start < realistic.end
    for spans in by_home.values():
        spans.sort()
        assert all(b[0] >= a[1] for a, b in itertools.pairwise(spans))
    stays = [a for a in realistic.absences if a.kind == "overnight_stay"]
    assert all(12 * HOUR < a.end - a.start < 26 * HOUR for a in stays)


def test_nobody_uses_water_or_appliances_while_away(realistic: Scenario) -> None:
    water, kwh, ts = registers(realistic)
    index = realistic.cohort.registry.household_index
    checked = 0
    for a in realistic.absences:
        inside = (ts - realistic.interval_s >= a.start) & (ts <= a.end)
        if inside.sum() < 8 or inside[0]:
            continue
        i = index[a.household_id]
        rows = np.flatnonzero(inside)
        w = water[i, rows[0] - 1:rows[-1] + 1]
        assert (w == w[0]).all(), a
        watts = (kwh[i, rows[-1]] - kwh[i, rows[0] - 1]) * 1000 / (len(rows) * 0.25)
        assert watts == pytest.approx(realistic.cohort.homes.base_load_w[i], abs=15), a
        checked += 1
    assert checked > 20


def test_false_alarm_causes_make_long_quiet_spells_at_home_that_the_plain_routine_never_has(realistic: Scenario) -> None:
    realistic_quiet = longest_quiet_at_home_h(realistic)
    plain = Scenario(realistic.cohort, START, 21, seed=5)
    plain_quiet = longest_quiet_at_home_h(plain)
    assert plain_quiet.max() < 9.5
    # late rising, weekend lie-ins, naps and very low users: a 10 h red-tier rule would fire
    assert (realistic_quiet > 9.5).mean() > 0.1
    assert realistic_quiet.max() < 16.0  # but normal living at home never reaches 16 h


def test_weekends_start_later_and_naps_leave_quiet_afternoons() -> None:
    cohort = make_cohort(300, 8)
    routine_on = Scenario(cohort, START, 14, seed=8, lifestyle=Lifestyle(weekends=True, naps=True)).routine()
    routine_off = Scenario(cohort, START, 14, seed=8).routine()
    day0 = routine_on.local_day(START)
    lie_in = []
    for day in range(day0, day0 + 14):
        on, off = routine_on.plan(day), routine_off.plan(day)
        lie_in.append(float(np.mean(on.wake - off.wake)) / HOUR)
        weekend = (day + 3) % 7 >= 5
        assert (lie_in[-1] > 0.2) == weekend, (day, lie_in[-1])
    # naps: afternoons (13:00-17:00) with no water at all are common with naps, rare without
    def quiet_afternoons(routine) -> float:  # type: ignore[no-untyped-def]
        quiet = 0
        for day in range(day0, day0 + 14):
            p = routine.plan(day)
            a, b = routine.midnight(day) + 13 * HOUR, routine.midnight(day) + 16 * HOUR
            has = ((p.water_t >= a) & (p.water_t < b) & (p.water_l > 0)).any(axis=1)
            quiet += int((~has).sum())
        return quiet / (14 * routine.n)
    assert quiet_afternoons(routine_on) > 0.05 > quiet_afternoons(routine_off)


def test_the_fridge_cycles_show_at_one_minute_but_never_look_like_a_person() -> None:
    cohort = make_cohort(40, 3)
    scenario = Scenario(cohort, START, 1, interval_s=60, seed=3, lifestyle=Lifestyle(fridge_cycles=True),
                        incidents=tuple(Incident(f"H{i:05d}", "incapacitated", START) for i in range(1, 41)))
    _, kwh, _ = registers(scenario)
    per_minute_w = np.diff(kwh, axis=1) * 1000 * 60
    homes = cohort.homes
    # on and off: some minutes the register moves a step, most minutes not
    assert 0.05 < (per_minute_w > 0).mean() < 0.9
    day_w = (kwh[:, -1] - kwh[:, 0]) * 1000 / 24
    np.testing.assert_allclose(day_w, homes.base_load_w, atol=5)
    quarter_w = np.diff(kwh[:, 14::15], axis=1) * 1000 * 4
    assert quarter_w.max() < 150


def test_incidents_show_on_the_meters() -> None:
    cohort = make_cohort(24, 3, meters_per_gateway=24)  # 12 homes per building, one gateway per building
    t = START + DAY
    incidents = (
        Incident("H00013", "fall_tap_running", t + 9 * HOUR, magnitude=240.0),
        Incident("H00014", "leak", t, t + DAY, magnitude=12.0),
        Incident("H00003", "illness", START, START + 3 * DAY, magnitude=0.3),
        Incident("", "water_cut", t + 10 * HOUR, t + 14 * HOUR, building="B001"),
        Incident("", "power_cut", t + 15 * HOUR, t + 19 * HOUR, building="B002", magnitude=1.0),
        Incident("H00005", "meter_offline", t + 2 * HOUR, t + 8 * HOUR, meter_id="W00005"),
    )
    with_incidents = Scenario(cohort, START, 3, seed=2, incidents=incidents)
    without = Scenario(cohort, START, 3, seed=2)
    water, kwh, ts = registers(with_incidents)
    water0, _, _ = registers(without)

    def litres(w: np.ndarray, i: int, a: float, b: float) -> float:
        k = np.flatnonzero((ts >= a) & (ts <= b))
        return float(w[i, k[-1]] - w[i, k[0]]) * 1000

    # a fall with the tap running: 240 L/h on and on
    assert litres(water, 12, t + 10 * HOUR, t + 30 * HOUR) == pytest.approx(20 * 240, abs=2)
    # a leak adds its flow to normal life
    extra = litres(water, 13, t + HOUR, t + 23 * HOUR) - litres(water0, 13, t + HOUR, t + 23 * HOUR)
    assert extra == pytest.approx(22 * 12, abs=2)
    # illness: less, but not nothing
    ill, well = litres(water, 2, START, START + 3 * DAY - HOUR), litres(water0, 2, START, START + 3 * DAY - HOUR)
    assert 0.1 * well < ill < 0.6 * well
    # the water cut: no home of B001 gets any water, B002 does
    cut = [litres(water, i, t + 10.25 * HOUR, t + 14 * HOUR) for i in range(24)]
    assert cut[:12] == [0.0] * 12 and sum(cut[12:]) > 0
    # the power cut: no electricity in B002, and nothing reported from its gateway meanwhile
    k = np.flatnonzero((ts > t + 15.25 * HOUR) & (ts <= t + 19 * HOUR))
    assert (np.diff(kwh[12:24][:, k], axis=1) == 0).all()
    readings = [with_incidents.readings(b) for b in with_incidents.blocks()]
    meter = np.concatenate([r.meter for r in readings])
    when = np.concatenate([r.ts for r in readings])
    registry = cohort.registry
    b002 = np.isin(registry.meter_household, np.arange(12, 24))
    during = (when >= t + 15 * HOUR) & (when < t + 19 * HOUR)
    assert not (b002[meter] & during).any() and (~b002[meter] & during).any()
    # the meter outage: W00005 silent for six hours, E00005 reporting
    w5, e5 = registry.meter_index["W00005"], registry.meter_index["E00005"]
    gap = (when >= t + 2 * HOUR) & (when < t + 8 * HOUR)
    assert not (gap & (meter == w5)).any() and (gap & (meter == e5)).sum() == 24
    assert len(meter) == 3 * 96 * registry.n_meters - 16 * 24 - 24


def test_meters_report_at_their_own_cadence() -> None:
    cohort = make_cohort(100, 1)
    cadence = MeterCadence.assign(cohort.registry, {"15min": 0.5, "60min": 0.3, "nbiot_daily": 0.2}, seed=1)
    scenario = Scenario(cohort, START, 1, seed=1, cadence=cadence)
    batch = next(iter(scenario.readings(b) for b in scenario.blocks()))
    per_meter = np.bincount(batch.meter, minlength=cohort.registry.n_meters)
    assert set(per_meter[cadence.every_s == 900]) == {96}
    assert set(per_meter[cadence.every_s == 3600]) == {24}
    hourly = np.isin(batch.meter, np.flatnonzero(cadence.every_s == 3600))
    assert (batch.ts[hourly] % 3600 == 0).all()
    with pytest.raises(ValueError, match="interval_s .* must divide every meter's cadence"):
        Scenario(cohort, START, 1, interval_s=7 * 60, cadence=cadence)


def test_a_block_of_homes_is_the_same_whatever_the_blocking(realistic: Scenario) -> None:
    small = Scenario(realistic.cohort, START, 3, seed=5, lifestyle=realistic.lifestyle,
                     absences=realistic.absences, chunk_households=37)
    whole = Scenario(realistic.cohort, START, 3, seed=5, lifestyle=realistic.lifestyle, absences=realistic.absences)
    a, b = registers(small)[0], registers(whole)[0]
    np.testing.assert_array_equal(a, b)
    assert math.isfinite(float(a.sum()))


def test_the_fridge_energy_in_closed_form_matches_its_cycles_second_by_second() -> None:
    cohort = make_cohort(30, 9)
    routine = Scenario(cohort, START, 1, seed=9, lifestyle=Lifestyle(fridge_cycles=True)).routine()
    t0 = START + 3 * HOUR  # asleep: only the fridge and the standby
    used = routine.usage_matrix(RoundGrid(t0, 900.0, 4))
    h = cohort.homes
    seconds = t0 + np.arange(3600) + 0.5  # the compressor's state in the middle of every second
    u = seconds[None, :] / (h.fridge_period_min[:, None] * 60) - h.fridge_phase[:, None]
    running = (u - np.floor(u)) < h.fridge_duty[:, None]
    fridge_wh = (running.reshape(30, 4, 900).sum(axis=2)) * h.fridge_on_w[:, None] / 3600
    expected = fridge_wh + h.standby_w[:, None] * 0.25
    np.testing.assert_allclose(used.electricity_wh, expected, atol=0.1)
