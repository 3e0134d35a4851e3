"""The benchmark's power-only view of a cohort (what a programme that watches only the
power meter sees): the electricity registers alone, read at the coarser interval, every
reading kept being one the meter really gave, and the ground truth untouched."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from quality.datasets import Dataset, power_only
from quality.project import ReadingBatch
from quality.simulated import as_dataset, build


def frame_of(ds: Dataset) -> pd.DataFrame:
    reg, r = ds.registry, ds.readings
    return pd.DataFrame({"meter": reg.meter_ids[r.meter].astype(str), "ts": r.ts, "value": r.value})


def test_power_only_keeps_the_hourly_electricity_registers_and_the_truth() -> None:
    full = as_dataset(build(12, 3, 3, seed=5, incidents_per_1000=200), "seed 5")
    seen = power_only(full, 3600.0)
    # the registry: every household, only its electricity meters (the names say which)
    assert list(seen.registry.household_ids) == list(full.registry.household_ids)
    reg = full.registry
    elec = [str(reg.meter_ids[j]) for j in range(reg.n_meters) if reg.meter(j).utility.value == "electricity"]
    assert sorted(map(str, seen.registry.meter_ids)) == sorted(elec)
    assert 0 < len(elec) < full.registry.n_meters
    # each kept meter stays with its household
    for k, meter in enumerate(seen.registry.meter_ids):
        j = int(np.flatnonzero(full.registry.meter_ids == meter)[0])
        assert seen.registry.household_ids[seen.registry.meter_household[k]] == full.registry.household_ids[full.registry.meter_household[j]]
    # readings: exactly the original electricity readings that fall on the hour
    expected = frame_of(full)
    expected = expected[expected["meter"].isin(elec) & (expected["ts"] % 3600 == 0)]
    got = frame_of(seen)
    key = ["meter", "ts"]
    pd.testing.assert_frame_equal(got.sort_values(key).reset_index(drop=True),
                                  expected.sort_values(key).reset_index(drop=True))
    assert len(got) < len(frame_of(full)[lambda f: f["meter"].isin(elec)])  # 15-minute readings were dropped
    # the truth is the cohort's
    pd.testing.assert_frame_equal(seen.incidents, full.incidents)
    pd.testing.assert_frame_equal(seen.absences, full.absences)
    assert (seen.test_start, seen.test_end, seen.timezone) == (full.test_start, full.test_end, full.timezone)


def test_power_only_refuses_registers_read_off_the_interval() -> None:
    full = as_dataset(build(12, 3, 3, seed=5, incidents_per_1000=200), "seed 5")
    shifted = replace(full, readings=ReadingBatch(full.readings.meter, full.readings.ts + 420.0, full.readings.value))
    with pytest.raises(ValueError, match="falls on a multiple of 3600 s"):
        power_only(shifted, 3600.0)
