"""A run of the cohort through simulated days, with incidents, as meter register readings.

Assumptions of the model:

* Every meter reports its cumulative register at the end of every interval
  (``interval_s``, 15 min by default): a round of readings per interval, all with the
  same timestamp. Water and gas registers show whole litres (m³ with 3 decimals),
  electricity 0.01 kWh; like a mechanical register they show completed units (floor),
  so every litre used moves the water register.
* Initial registers are random but seeded (an old meter shows a large number).
* An ``incapacitated`` incident stops a resident at ``start``: from then on no water,
  no gas, electricity only the base load (fridge + standby). Meters keep reporting.
* :func:`pick_incidents` starts incidents while the resident is awake (at least 1 h
  after the usual wake time and 1 h before the usual bed time) and at least 20 h
  before the scenario ends, so even a 16 h no-usage threshold is crossed in the run.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from lifesign.grid import UTILITY_CODES, Utility
from lifesign.readings import ReadingBatch
from simulators.cohort import Cohort
from simulators.routine import DAY, HOUR, Routine

FloatArray = npt.NDArray[np.float64]
KINDS = ("incapacitated",)
#: an incident starts this long before the end at the latest (16 h threshold + margin)
MIN_LEAD_S = 20.0 * HOUR
GROUND_TRUTH_COLUMNS = ("household_id", "kind", "start", "start_iso")
_STREAM_REGISTERS, _STREAM_INCIDENTS = 0x52454753, 0x494E4344


@dataclass(frozen=True)
class Incident:
    household_id: str
    kind: str
    start: float

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"Incident.kind must be one of {', '.join(KINDS)}, got {self.kind!r}")


@dataclass(frozen=True)
class Round:
    """Every meter's register at ``ts``, the end of one reporting interval."""

    ts: float
    batch: ReadingBatch


@dataclass(frozen=True)
class Scenario:
    cohort: Cohort
    start: float
    days: float
    interval_s: int = 900
    incidents: tuple[Incident, ...] = ()
    seed: int = 0
    utc_offset_hours: float = 8.0

    def __post_init__(self) -> None:
        if not self.interval_s > 0:
            raise ValueError(f"Scenario.interval_s must be > 0, got {self.interval_s}")
        if self.n_rounds < 1:
            raise ValueError(f"Scenario.days must cover at least one interval of {self.interval_s} s, got {self.days}")
        known = self.cohort.registry.household_index
        for k, incident in enumerate(self.incidents):
            if incident.household_id not in known:
                raise ValueError(f"Scenario.incidents[{k}].household_id must be a household of the cohort, got {incident.household_id!r}")

    @property
    def n_rounds(self) -> int:
        return int(self.days * DAY // self.interval_s)

    @property
    def end(self) -> float:
        return self.start + self.n_rounds * self.interval_s

    def routine(self) -> Routine:
        return Routine(self.cohort.homes, self.seed, self.utc_offset_hours)

    def active_until(self) -> FloatArray:
        """Per household: when an incident stops its activity (``inf`` if never)."""
        until = np.full(self.cohort.n_households, np.inf)
        for incident in self.incidents:
            i = self.cohort.registry.household_index[incident.household_id]
            until[i] = min(until[i], incident.start)
        return until

    def initial_registers(self) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Water litres, electricity Wh, gas litres on the registers at ``start``."""
        n = self.cohort.n_households
        u = np.random.default_rng([self.seed, _STREAM_REGISTERS]).random((n, 3))
        water_l = np.floor(20_000.0 + 1_980_000.0 * u[:, 0])
        electricity_wh = 10.0 * np.floor(100_000.0 + 2_900_000.0 * u[:, 1])
        gas_l = np.floor(50_000.0 + 2_950_000.0 * u[:, 2])
        return water_l, electricity_wh, gas_l

    def rounds(self) -> Iterator[Round]:
        registry = self.cohort.registry
        routine = self.routine()
        until = self.active_until()
        water_l, electricity_wh, gas_l = self.initial_registers()
        meters = np.arange(registry.n_meters, dtype=np.int32)
        owner = registry.meter_household
        utility = registry.meter_utility
        is_water = utility == UTILITY_CODES[Utility.WATER]
        is_electricity = utility == UTILITY_CODES[Utility.ELECTRICITY]
        for i in range(self.n_rounds):
            t0 = self.start + i * self.interval_s
            t1 = t0 + self.interval_s
            used = routine.usage(t0, t1, until)
            water_l = water_l + used.water_l
            electricity_wh = electricity_wh + used.electricity_wh
            gas_l = gas_l + used.gas_l
            # Registers show completed units: whole litres (as m³) and 0.01 kWh steps.
            value = np.where(
                is_water,
                np.floor(water_l[owner]) / 1000.0,
                np.where(is_electricity, np.floor(electricity_wh[owner] / 10.0) / 100.0, np.floor(gas_l[owner]) / 1000.0),
            )
            yield Round(t1, ReadingBatch(meters, np.full(len(meters), t1), value))


def _waking_windows(
    wake_hour: float, sleep_hour: float, lo: float, hi: float, offset_s: float
) -> list[tuple[float, float]]:
    """Waking windows (usual wake + 1 h .. usual bed time - 1 h) of each day, inside [lo, hi]."""
    windows = []
    first = int(np.floor((lo + offset_s) / DAY)) - 1
    last = int(np.floor((hi + offset_s) / DAY)) + 1
    for day in range(first, last + 1):
        midnight = day * DAY - offset_s
        a = max(lo, midnight + (wake_hour + 1.0) * HOUR)
        b = min(hi, midnight + (sleep_hour - 1.0) * HOUR)
        if b > a:
            windows.append((a, b))
    return windows


def pick_incidents(
    cohort: Cohort,
    n: int,
    start: float,
    days: float,
    seed: int,
    *,
    kind: str = "incapacitated",
    utc_offset_hours: float = 8.0,
) -> tuple[Incident, ...]:
    """``n`` incidents in distinct households, while awake, at least 20 h before the end.

    In runs long enough (latest start two days or more in) they start no earlier than
    one day in, so detectors that learn a home's rhythm have seen a day of it.
    """
    if not 0 <= n <= cohort.n_households:
        raise ValueError(f"pick_incidents: n must be within 0..{cohort.n_households} (the cohort size), got {n}")
    hi = start + days * DAY - MIN_LEAD_S
    if hi <= start:
        raise ValueError(f"pick_incidents: days must exceed {MIN_LEAD_S / DAY:.3f} so incidents start 20 h before the end, got {days}")
    lo = start + DAY if hi - start >= 2 * DAY else start
    rng = np.random.default_rng([seed, _STREAM_INCIDENTS])
    chosen = rng.choice(cohort.n_households, size=n, replace=False)
    offset_s = utc_offset_hours * HOUR
    incidents = []
    for index in chosen:
        windows = _waking_windows(float(cohort.homes.wake_hour[index]), float(cohort.homes.sleep_hour[index]), lo, hi, offset_s)
        household_id = str(cohort.registry.household_ids[index])
        if not windows:
            raise ValueError(
                f"pick_incidents: household {household_id} is never awake between "
                f"{_iso(lo, utc_offset_hours)} and {_iso(hi, utc_offset_hours)}; give the scenario more days"
            )
        lengths = np.array([b - a for a, b in windows])
        a, b = windows[int(rng.choice(len(windows), p=lengths / lengths.sum()))]
        incidents.append(Incident(household_id, kind, float(np.floor(a + rng.random() * (b - a)))))
    return tuple(sorted(incidents, key=lambda x: (x.start, x.household_id)))


def _iso(ts: float, utc_offset_hours: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone(timedelta(hours=utc_offset_hours))).isoformat()


def _number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def write_ground_truth(scenario: Scenario, path: str | Path) -> None:
    """``household_id,kind,start,start_iso``: start as epoch seconds and as RFC 3339 local time."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(GROUND_TRUTH_COLUMNS)
        for incident in sorted(scenario.incidents, key=lambda x: (x.start, x.household_id)):
            out.writerow([incident.household_id, incident.kind, _number(incident.start),
                          _iso(incident.start, scenario.utc_offset_hours)])


def write_dataset(scenario: Scenario, folder: str | Path, rounds_per_chunk: int = 96) -> Path:
    """Cohort files, ``readings.csv`` (meter,ts,value), ``ground_truth.csv``, ``scenario.json``."""
    out = Path(folder)
    scenario.cohort.write(out)
    write_ground_truth(scenario, out / "ground_truth.csv")
    (out / "scenario.json").write_text(
        json.dumps(
            {
                "start": scenario.start, "start_iso": _iso(scenario.start, scenario.utc_offset_hours),
                "days": scenario.days, "interval_s": scenario.interval_s, "n_rounds": scenario.n_rounds,
                "seed": scenario.seed, "cohort_seed": scenario.cohort.seed,
                "utc_offset_hours": scenario.utc_offset_hours, "households": scenario.cohort.n_households,
                "meters": scenario.cohort.registry.n_meters, "incidents": len(scenario.incidents),
            },
            indent=2,
        ) + "\n",
        encoding="utf-8",
    )
    meter_ids = scenario.cohort.registry.meter_ids
    whole_seconds = float(scenario.start).is_integer() and float(scenario.interval_s).is_integer()
    readings = out / "readings.csv"
    chunk: list[Round] = []
    header = True

    def flush() -> None:
        nonlocal header
        ts = np.concatenate([r.batch.ts for r in chunk])
        pd.DataFrame(
            {
                "meter": np.concatenate([meter_ids[r.batch.meter] for r in chunk]),
                "ts": ts.astype(np.int64) if whole_seconds else ts,
                "value": np.concatenate([r.batch.value for r in chunk]),
            }
        ).to_csv(readings, mode="w" if header else "a", header=header, index=False, lineterminator="\n")
        header = False
        chunk.clear()

    for rnd in scenario.rounds():
        chunk.append(rnd)
        if len(chunk) >= rounds_per_chunk:
            flush()
    if chunk:
        flush()
    return readings


__all__ = [
    "GROUND_TRUTH_COLUMNS",
    "KINDS",
    "Incident",
    "Round",
    "Scenario",
    "pick_incidents",
    "write_dataset",
    "write_ground_truth",
]
