from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lifesign.registry import Registry
from lifesign.roster import Roster
from simulators.cohort import make_cohort
from simulators.dataset import write_dataset, write_ground_truth
from simulators.incidents import Incident
from simulators.routine import DAY, HOUR
from simulators.scenario import Scenario, pick_incidents

# 2024-11-20 00:00 local (UTC+8)
START = 20047 * DAY - 8 * HOUR
DATASET_FILES = ("households.csv", "meters.csv", "roster.yaml", "homes.csv", "readings.csv",
                 "ground_truth.csv", "scenario.json")


def registers(scenario: Scenario) -> tuple[np.ndarray, np.ndarray]:
    """(rounds + 1, meters) register table including the initial registers, and round times."""
    rows, times = [], []
    for rnd in scenario.rounds():
        assert (rnd.batch.ts == rnd.ts).all()
        assert rnd.batch.meter.tolist() == list(range(scenario.cohort.registry.n_meters))
        rows.append(rnd.batch.value)
        times.append(rnd.ts)
    return np.array(rows), np.array(times)


def longest_silence_h(scenario: Scenario, table: np.ndarray) -> np.ndarray:
    """Per household: longest run of intervals without water and with electricity below 150 W."""
    reg = scenario.cohort.registry
    water = table[:, reg.meter_utility == 0]
    kwh = table[:, reg.meter_utility == 1]
    assert (reg.meter_household[reg.meter_utility == 0] == np.arange(reg.n_households)).all()
    interval_h = scenario.interval_s / HOUR
    active = (np.diff(water, axis=0) > 0) | (np.diff(kwh, axis=0) / interval_h >= 0.150)
    run = np.zeros(active.shape[1])
    longest = np.zeros(active.shape[1])
    for row in active:
        run = np.where(row, 0.0, run + 1.0)
        longest = np.maximum(longest, run)
    return longest * interval_h


def test_the_same_seeds_write_the_same_dataset_byte_for_byte(tmp_path: Path) -> None:
    def dataset(folder: Path, seed: int) -> None:
        cohort = make_cohort(40, 1, with_gas_fraction=0.2)
        incidents = pick_incidents(cohort, 2, START, 2, seed=5)
        write_dataset(Scenario(cohort, START, 2, incidents=incidents, seed=seed), folder)

    dataset(tmp_path / "a", 3)
    dataset(tmp_path / "b", 3)
    dataset(tmp_path / "c", 4)
    for name in DATASET_FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert (tmp_path / "a" / "readings.csv").read_bytes() != (tmp_path / "c" / "readings.csv").read_bytes()


def test_dataset_files_hold_every_reading_and_load_back(tmp_path: Path) -> None:
    cohort = make_cohort(30, 2)
    incidents = pick_incidents(cohort, 3, START, 2, seed=1)
    scenario = Scenario(cohort, START, 2, interval_s=1800, incidents=incidents, seed=9)
    write_dataset(scenario, tmp_path, rounds_per_chunk=7)
    readings = pd.read_csv(tmp_path / "readings.csv")
    assert list(readings.columns) == ["meter", "ts", "value"]
    assert len(readings) == scenario.n_rounds * cohort.registry.n_meters == 96 * 60
    assert readings["ts"].dtype == np.int64 and readings["ts"].iloc[0] == START + 1800
    table, _ = registers(scenario)
    np.testing.assert_array_equal(readings["value"].to_numpy(), table.ravel())
    assert readings["meter"].iloc[0] == "W00001" and readings["meter"].iloc[1] == "E00001"
    Registry.load(tmp_path / "households.csv", tmp_path / "meters.csv")
    Roster.load(tmp_path / "roster.yaml")
    truth = pd.read_csv(tmp_path / "ground_truth.csv")
    assert list(truth.columns) == ["category", "kind", "household_id", "building", "meter_id", "start", "end",
                                   "start_iso", "end_iso", "magnitude", "left_on", "left_on_w"]
    assert set(truth["household_id"]) == {i.household_id for i in incidents}


def test_normal_homes_are_never_silent_for_9_5_hours_in_14_days() -> None:
    scenario = Scenario(make_cohort(300, 21, with_gas_fraction=0.3), START, 14, seed=21)
    table, _ = registers(scenario)
    longest = longest_silence_h(scenario, table)
    assert longest.max() < 9.5
    # the nights are there: a rule with a short threshold would fire
    assert np.median(longest) > 6.0
    assert (np.diff(table, axis=0) >= 0).all()  # registers never run backwards


def test_an_incapacitated_home_uses_no_water_and_only_base_load_after_the_start() -> None:
    cohort = make_cohort(60, 4, with_gas_fraction=0.5)
    incidents = pick_incidents(cohort, 4, START, 3, seed=2)
    scenario = Scenario(cohort, START, 3, incidents=incidents, seed=4)
    table, times = registers(scenario)
    reg = cohort.registry
    for incident in incidents:
        h = reg.household_index[incident.household_id]
        meters = {int(u): m for m, u in zip(np.flatnonzero(reg.meter_household == h), reg.meter_utility[reg.meter_household == h])}
        after = times - scenario.interval_s >= incident.start  # intervals entirely after the start
        first = int(np.argmax(after))
        water = table[first - 1:, meters[0]]
        assert (water == water[0]).all(), incident
        if 2 in meters:
            assert (table[first - 1:, meters[2]] == table[first - 1, meters[2]]).all()
        hours = (times[-1] - times[first - 1]) / HOUR
        used_kwh = table[-1, meters[1]] - table[first - 1, meters[1]]
        assert used_kwh == pytest.approx(cohort.homes.base_load_w[h] * hours / 1000, abs=0.0101)
        # before the incident the home was alive
        before = times <= incident.start
        assert np.diff(table[before, meters[0]]).sum() > 0
    silent = longest_silence_h(scenario, table)
    stricken = [reg.household_index[i.household_id] for i in incidents]
    assert (silent[stricken] >= 16.0).all()
    assert np.delete(silent, stricken).max() < 9.5


def test_incidents_are_distinct_awake_and_early_enough() -> None:
    cohort = make_cohort(120, 6)
    incidents = pick_incidents(cohort, 40, START, 4, seed=8)
    assert incidents == pick_incidents(cohort, 40, START, 4, seed=8)
    assert incidents != pick_incidents(cohort, 40, START, 4, seed=9)
    assert len({i.household_id for i in incidents}) == 40
    scenario = Scenario(cohort, START, 4, incidents=incidents, seed=1)
    routine = scenario.routine()
    for incident in incidents:
        assert START + DAY <= incident.start <= scenario.end - 20 * HOUR
        h = cohort.registry.household_index[incident.household_id]
        plan = routine.plan(routine.local_day(incident.start))
        assert plan.wake[h] < incident.start < plan.sleep[h], incident


def test_ground_truth_has_epoch_and_rfc3339_local_start(tmp_path: Path) -> None:
    cohort = make_cohort(10, 0)
    scenario = Scenario(cohort, START, 2, incidents=(Incident("H00003", "incapacitated", START + 30 * HOUR),))
    write_ground_truth(scenario, tmp_path / "truth.csv")
    with open(tmp_path / "truth.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert rows == [{"category": "incident", "kind": "incapacitated", "household_id": "H00003", "building": "B001",
                     "meter_id": "", "start": str(int(START + 30 * HOUR)), "end": "",
                     "start_iso": "2024-11-21T06:00:00+08:00", "end_iso": "", "magnitude": "0", "left_on": "",
                     "left_on_w": ""}]
    assert datetime.fromisoformat(rows[0]["start_iso"]).timestamp() == START + 30 * HOUR


def test_bad_scenarios_and_incidents_are_rejected() -> None:
    cohort = make_cohort(10, 0)
    with pytest.raises(ValueError, match="Incident.kind must be one of incapacitated, fall_tap_running, .*, got 'fallen'"):
        Incident("H00001", "fallen", START)
    with pytest.raises(ValueError, match=r"incidents\[0\].household_id must be a household of the cohort, got 'H99999'"):
        Scenario(cohort, START, 1, incidents=(Incident("H99999", "incapacitated", START),))
    with pytest.raises(ValueError, match="interval_s must be > 0, got 0"):
        Scenario(cohort, START, 1, interval_s=0)
    with pytest.raises(ValueError, match=r"n must be within 0\.\.10"):
        pick_incidents(cohort, 11, START, 3, seed=0)
    with pytest.raises(ValueError, match="days must exceed 0.833"):
        pick_incidents(cohort, 1, START, 0.5, seed=0)
