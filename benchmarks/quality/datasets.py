"""The benchmark's datasets: real homes and the independent cohort from ``../shared/eval``.

Each becomes a :class:`Dataset`: a registry, every reading, where the test period starts
(``learn`` trains on what comes before), the local time zone and the ground truth as plain
frames for :mod:`quality.scoring`. Loaded once per process.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from quality.project import UTILITY_CODES, ReadingBatch, Registry, Utility
from quality.visible_absences import (
    electricity_absences,
    electricity_filled_gaps,
    water_absences,
    water_filled_gaps,
)

DAY = 86400.0
WINDOW_COLUMNS = ["household_id", "start", "end", "cause"]


def empty_windows() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=float if c in ("start", "end") else str) for c in WINDOW_COLUMNS})


@dataclass
class Dataset:
    name: str
    registry: Registry
    readings: ReadingBatch
    test_start: float
    test_end: float
    timezone: str
    #: welfare incidents: household_id, start, end[, light_on]
    incidents: pd.DataFrame = field(default_factory=empty_windows)
    #: absences (known or visible) counted k/n: household_id, start, end
    absences: pd.DataFrame = field(default_factory=empty_windows)
    #: windows whose alarms are explained, not false: household_id, start, end, cause
    explained: pd.DataFrame = field(default_factory=empty_windows)
    leaks: pd.DataFrame = field(default_factory=empty_windows)
    #: what the training part is, for the table's caption
    train_note: str = ""
    #: lines a human should check (visible absences, artefacts)
    notes: list[str] = field(default_factory=list)

    @property
    def households(self) -> list[str]:
        return [str(h) for h in self.registry.household_ids]

    def before(self, ts: float) -> ReadingBatch:
        return self.readings.take(np.flatnonzero(self.readings.ts < ts))

    def between(self, lo: float, hi: float) -> ReadingBatch:
        ts = self.readings.ts
        return self.readings.take(np.flatnonzero((ts >= lo) & (ts < hi)))


def eval_dir_default(repo_root: Path) -> Path:
    """``../shared/eval`` beside the repository (CI clones it next to a copy of shared/)."""
    return repo_root.parent / "shared" / "eval"


def registry_of_meters(meter_ids: list[str]) -> Registry:
    """One green-tier household per meter; the utility from the name (``elec-``/``water-``)."""
    def utility(meter: str) -> str:
        if meter.startswith("elec-"):
            return "electricity"
        if meter.startswith("water-"):
            return "water"
        raise ValueError(f"meter {meter!r}: expected a name starting with elec- or water-")

    households = pd.DataFrame({
        "household_id": meter_ids, "community": "real", "grid": "real", "building": meter_ids, "unit": "1",
        "room": "1", "resident_name": meter_ids, "age": "80", "phone": "", "emergency_contact": "",
        "tier": "green"})
    meters = pd.DataFrame({"meter_id": meter_ids, "household_id": meter_ids,
                           "utility": [utility(m) for m in meter_ids], "gateway_id": "GW-real"})
    # the registry's public path is its CSV pair
    with tempfile.TemporaryDirectory() as folder:
        households.to_csv(Path(folder) / "households.csv", index=False)
        meters.to_csv(Path(folder) / "meters.csv", index=False)
        return Registry.load(Path(folder) / "households.csv", Path(folder) / "meters.csv")


def batch_of(registry: Registry, frame: pd.DataFrame) -> ReadingBatch:
    meter = frame["meter"].map(registry.meter_index)
    if meter.isna().any():
        raise ValueError(f"readings name unregistered meters: {sorted(set(frame['meter'][meter.isna()]))[:5]}")
    return ReadingBatch.of(meter.to_numpy(), frame["ts"].to_numpy(float), frame["value"].to_numpy(float))


def _local_epoch(text: str, timezone: str) -> float:
    return float(pd.Timestamp(text, tz=timezone).timestamp())


def _fmt(ts: float, timezone: str) -> str:
    return pd.Timestamp(ts, unit="s", tz="UTC").tz_convert(timezone).strftime("%Y-%m-%d %H:%M")


@cache
def real_dataset(eval_dir: str, utility: str) -> Dataset:
    """Real homes: ``electricity`` (hourly, 2016; test from April) or ``water`` (minutely,
    March 2015; test from the 15th)."""
    tz = "Europe/Brussels"
    if utility == "electricity":
        path, test_from, train_note = "electricity_2016_hourly.csv.gz", "2016-04-01", "trained Jan-Mar, tested Apr-Dec"
    else:
        path, test_from, train_note = "water_2015_03_minutely.csv.gz", "2015-03-15", "trained 1-14 March, tested 15-31"
    frame = pd.read_csv(Path(eval_dir) / "real" / path, dtype={"meter": str})
    frame = frame.sort_values(["meter", "ts"], kind="stable")
    registry = registry_of_meters(sorted(frame["meter"].unique()))
    absences, artefacts, notes = [], [], []
    for meter, readings in frame.groupby("meter", sort=True):
        ts, value = readings["ts"].to_numpy(float), readings["value"].to_numpy(float)
        if utility == "electricity":
            found, fills = electricity_absences(ts, value), electricity_filled_gaps(ts, value)
        else:
            found, fills = water_absences(ts, value), water_filled_gaps(ts, value)
        absences += [(meter, a, b, "visible_absence") for a, b in found]
        artefacts += [(meter, a, b, "filled_gap") for a, b in fills]
        notes.append(f"{meter}: visible absences {len(found)}"
                     + "".join(f"\n    {_fmt(a, tz)} .. {_fmt(b, tz)} ({(b - a) / 3600:.0f} h)" for a, b in found)
                     + (f"\n  filled gaps {len(fills)}" if fills else "")
                     + "".join(f"\n    {_fmt(a, tz)} .. {_fmt(b, tz)} ({(b - a) / 3600:.0f} h)" for a, b in fills))
    return Dataset(
        name=f"real/{utility}", registry=registry, readings=batch_of(registry, frame),
        test_start=_local_epoch(test_from, tz), test_end=float(frame["ts"].max()) + 1, timezone=tz,
        absences=pd.DataFrame(absences, columns=WINDOW_COLUMNS) if absences else empty_windows(),
        explained=pd.DataFrame(artefacts, columns=WINDOW_COLUMNS) if artefacts else empty_windows(),
        train_note=train_note, notes=notes)


@cache
def independent_dataset(eval_dir: str, variant: str) -> Dataset:
    """The independent single-resident cohort (``A`` or ``B``): days 1-30 train, 31-60 test."""
    root = Path(eval_dir) / "independent"
    folder = root / variant
    plan = json.loads((root / "plan.json").read_text(encoding="utf-8"))
    registry = Registry.load(folder / "households.csv", folder / "meters.csv")
    frame = pd.read_parquet(folder / "readings.parquet")
    truth = pd.read_csv(folder / "ground_truth.csv", dtype={"household_id": str}, keep_default_na=False)
    meta = pd.read_csv(folder / "truth_meta.csv", dtype={"household_id": str})
    incidents = truth[(truth["category"] == "incident") & (truth["kind"] == "incapacitated")].copy()
    incidents["start"] = incidents["start"].astype(float)
    incidents["end"] = pd.to_numeric(incidents["end"], errors="coerce")
    incidents = incidents.merge(meta[["household_id", "light_on"]], on="household_id", how="left")
    incidents["cause"] = "incapacitated"
    return Dataset(
        name=f"independent/{variant}", registry=registry, readings=batch_of(registry, frame),
        test_start=float(plan["test_start_epoch"]), test_end=float(frame["ts"].max()) + 1,
        timezone="Asia/Shanghai", incidents=incidents[[*WINDOW_COLUMNS, "light_on"]].reset_index(drop=True),
        train_note="trained days 1-30, tested days 31-60")


def power_only(ds: Dataset, interval_s: float) -> Dataset:
    """``ds`` as a programme that watches only the power meter sees it: every meter but
    electricity dropped, and only the register readings on multiples of ``interval_s`` kept
    (3600: an hourly meter's; a register read less often holds the same energy, summed).
    Incidents, absences and windows stay: what such a programme misses is what this measures.

    >>> import pandas as pd
    >>> reg = registry_of_meters(["elec-1", "water-1"])
    >>> frame = pd.DataFrame({"meter": ["elec-1"] * 5 + ["water-1"] * 5, "ts": [0.0, 900, 1800, 2700, 3600] * 2,
    ...                       "value": [0.0, 0.1, 0.2, 0.3, 0.4] * 2})
    >>> seen = power_only(Dataset("x", reg, batch_of(reg, frame), 0.0, 3601.0, "UTC"), 3600.0)
    >>> list(seen.registry.meter_ids), seen.readings.ts.tolist(), seen.readings.value.tolist()
    (['elec-1'], [0.0, 3600.0], [0.0, 0.4])
    """
    reg = ds.registry
    kept = np.flatnonzero(reg.meter_utility == UTILITY_CODES[Utility.ELECTRICITY])
    registry = Registry.from_records([reg.household(i) for i in range(reg.n_households)],
                                     [reg.meter(int(m)) for m in kept])
    new_index = np.full(reg.n_meters, -1, dtype=np.int64)
    new_index[kept] = np.arange(len(kept))
    r = ds.readings
    on_interval = np.isclose(np.mod(r.ts, interval_s), 0.0)
    take = np.flatnonzero((new_index[r.meter] >= 0) & on_interval)
    lost = np.setdiff1d(np.unique(r.meter[new_index[r.meter] >= 0]), r.meter[take])
    if len(lost):  # a register read off the interval's multiples: this view would drop it silently
        raise ValueError(f"power_only: no reading of {reg.meter_ids[lost[0]]} (and {len(lost) - 1} more) "
                         f"falls on a multiple of {interval_s:g} s")
    readings = ReadingBatch.of(new_index[r.meter[take]], r.ts[take], r.value[take])
    every = "hourly" if interval_s == 3600 else f"every {interval_s / 60:g} min"
    return replace(ds, name=f"{ds.name} power only, {every}", registry=registry, readings=readings,
                   train_note=f"{ds.train_note}; its power meter alone, read {every}")
