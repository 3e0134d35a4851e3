"""Datasets for backtests: readings, the cohort, and the ground truth, as CSV and/or Parquet.

A dataset folder holds:

* ``households.csv``, ``meters.csv``, ``roster.yaml``, ``homes.csv``: the cohort.
* ``readings.csv`` / ``readings.parquet``: ``meter,ts,value`` (meter id, epoch seconds,
  register in m³ or kWh), ordered by (block of homes, ts, meter); a cohort of up to
  ``chunk_households`` homes is one block, so its readings are in (ts, meter) order.
* ``ground_truth.csv``: one row per incident, absence, outage and condition, columns
  :data:`GROUND_TRUTH_COLUMNS`: ``category`` (incident | absence | outage | condition),
  ``kind``, ``household_id`` (empty for a building-wide incident), ``building``,
  ``meter_id`` (outages), ``start``/``end`` in epoch seconds (``end`` empty: lasted past
  the run) and as RFC 3339 local time (the scenario's zone, so its offset changes with
  daylight saving), ``magnitude`` (L/h of a flow or a running toilet, kept share of an
  illness, 1 = a power cut took the gateways down), ``left_on`` and ``left_on_w`` (a
  light, tv or heater left on after a stopping incident, and its watts; empty otherwise).
  A ``condition`` (``running_toilet``) is neither an incident nor an absence: its
  water is no sign of life, and it explains no welfare alarm.
* ``scenario.json``: the run's parameters.

The same scenario writes the same bytes (Parquet written without statistics
timestamps; pyarrow's own version is in its footer, so the bytes match for one
pyarrow version).
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulators.localtime import LocalClock
from simulators.scenario import Scenario

GROUND_TRUTH_COLUMNS = ("category", "kind", "household_id", "building", "meter_id", "start", "end",
                        "start_iso", "end_iso", "magnitude", "left_on", "left_on_w")
FORMATS = ("csv", "parquet")


def _iso(ts: float, clock: LocalClock) -> str:
    return clock.iso(ts) if math.isfinite(ts) else ""


def _number(x: float) -> str:
    if not math.isfinite(x):
        return ""
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def ground_truth_rows(scenario: Scenario) -> list[dict[str, str]]:
    """Incidents, absences, outages and conditions, sorted by (start, category, household, kind)."""
    registry = scenario.cohort.registry
    clock = scenario.clock
    rows: list[dict[str, Any]] = []

    def building_of(household_id: str) -> str:
        return str(registry.building[registry.household_index[household_id]])

    for i in scenario.incidents:
        building = i.building or (building_of(i.household_id) if i.household_id else "")
        rows.append({"category": i.category, "kind": i.kind, "household_id": i.household_id, "building": building,
                     "meter_id": i.meter_id, "start": i.start, "end": i.end, "magnitude": i.magnitude,
                     "left_on": i.left_on, "left_on_w": i.left_on_w if i.left_on else math.nan})
    for a in scenario.absences:
        rows.append({"category": "absence", "kind": a.kind, "household_id": a.household_id,
                     "building": building_of(a.household_id), "meter_id": "", "start": a.start, "end": a.end,
                     "magnitude": 0.0, "left_on": "", "left_on_w": math.nan})
    for c in scenario.conditions:
        rows.append({"category": "condition", "kind": c.kind, "household_id": c.household_id,
                     "building": building_of(c.household_id), "meter_id": "", "start": c.start, "end": c.end,
                     "magnitude": c.lph, "left_on": "", "left_on_w": math.nan})
    rows.sort(key=lambda r: (r["start"], r["category"], r["household_id"], r["kind"], r["meter_id"]))
    return [{**r, "start": _number(r["start"]), "end": _number(r["end"]), "start_iso": _iso(r["start"], clock),
             "end_iso": _iso(r["end"], clock), "magnitude": _number(r["magnitude"]),
             "left_on_w": _number(r["left_on_w"])} for r in rows]


def write_ground_truth(scenario: Scenario, path: str | Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        out = csv.DictWriter(f, fieldnames=list(GROUND_TRUTH_COLUMNS), lineterminator="\n")
        out.writeheader()
        out.writerows(ground_truth_rows(scenario))


def write_dataset(scenario: Scenario, folder: str | Path, rounds_per_chunk: int = 96,
                  formats: tuple[str, ...] = ("csv",)) -> Path:
    """Cohort files, readings (CSV and/or Parquet), ``ground_truth.csv``, ``scenario.json``.

    Returns the path of the first readings file written.
    """
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise ValueError(f"write_dataset: formats must be among {', '.join(FORMATS)}, got {list(formats)}")
    out = Path(folder)
    scenario.cohort.write(out)
    write_ground_truth(scenario, out / "ground_truth.csv")
    (out / "scenario.json").write_text(json.dumps(_summary(scenario), indent=2) + "\n", encoding="utf-8")
    meter_ids = scenario.cohort.registry.meter_ids
    whole_seconds = float(scenario.start).is_integer() and float(scenario.interval_s).is_integer()
    csv_path, parquet_path = out / "readings.csv", out / "readings.parquet"
    writer = None
    header = True
    try:
        for block in scenario.blocks(window_rounds=rounds_per_chunk):
            batch = scenario.readings(block)
            ts = batch.ts.astype(np.int64) if whole_seconds else batch.ts
            if "csv" in formats:
                pd.DataFrame({"meter": meter_ids[batch.meter], "ts": ts, "value": batch.value}).to_csv(
                    csv_path, mode="w" if header else "a", header=header, index=False, lineterminator="\n")
            if "parquet" in formats:
                writer = _write_parquet(writer, parquet_path, meter_ids, batch.meter, ts, batch.value)
            header = False
        if header and "csv" in formats:  # no readings at all: still a file with its header
            pd.DataFrame({"meter": [], "ts": [], "value": []}).to_csv(csv_path, index=False, lineterminator="\n")
    finally:
        if writer is not None:
            writer.close()
    return csv_path if "csv" in formats else parquet_path


def _write_parquet(writer, path: Path, meter_ids: np.ndarray, meter: np.ndarray, ts: np.ndarray, value: np.ndarray):  # type: ignore[no-untyped-def]
    import pyarrow as pa
    import pyarrow.parquet as pq

    # A dictionary of the block's own meters: meter ids repeat every round.
    lo, hi = (int(meter.min()), int(meter.max()) + 1) if len(meter) else (0, 0)
    dictionary = pa.array(meter_ids[lo:hi].astype(str))
    table = pa.table({
        "meter": pa.DictionaryArray.from_arrays(pa.array(meter - lo, type=pa.int32()), dictionary),
        "ts": pa.array(ts),
        "value": pa.array(value, type=pa.float64()),
    })
    if writer is None:
        writer = pq.ParquetWriter(path, table.schema, compression="zstd")
    writer.write_table(table)
    return writer


def _summary(scenario: Scenario) -> dict[str, object]:
    life = scenario.lifestyle
    return {
        "start": scenario.start, "start_iso": _iso(scenario.start, scenario.clock),
        "days": scenario.days, "interval_s": scenario.interval_s, "n_rounds": scenario.n_rounds,
        "seed": scenario.seed, "cohort_seed": scenario.cohort.seed, "timezone": scenario.timezone,
        "utc_offset_hours": scenario.utc_offset_hours, "households": scenario.cohort.n_households,
        "meters": scenario.cohort.registry.n_meters, "incidents": len(scenario.incidents),
        "absences": len(scenario.absences), "conditions": len(scenario.conditions),
        "lifestyle": {name: getattr(life, name) for name in life.names()},
    }


__all__ = ["FORMATS", "GROUND_TRUTH_COLUMNS", "ground_truth_rows", "write_dataset", "write_ground_truth"]
