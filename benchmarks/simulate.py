"""How fast the simulator generates a city: a million homes, one day of 15-minute readings.

    .venv/bin/python benchmarks/simulate.py                 # 1M homes, 1 day (about 1 min, 2.1 GB peak)
    .venv/bin/python benchmarks/simulate.py --households 100000 --parquet-households 100000

Rows of the table, all measured in this run:

* ``cohort``: registry, roster and home profiles (``make_cohort``), plus absences and incidents.
* ``readings``: every block's registers (routine, absences, incidents, register
  resolution) and its readings (cadence, outages) as numpy columns: the workload.
* ``baseline``: bare numpy filling arrays of the same shapes (a cumulative sum of
  random usage per block and the same reading columns), with no model at all.
* ``parquet``: writing a dataset of ``--parquet-households`` homes (readings.parquet).

Goal (issue 6): the ``cohort`` and ``readings`` rows together under 60 s for a million homes, ≥ 1M readings/s.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from simulators.dataset import write_dataset
from simulators.scenario_file import ScenarioSpec

SPEC = Path(__file__).resolve().parents[1] / "configs" / "scenarios" / "city-day.yaml"


def _spec(households: int, days: float) -> ScenarioSpec:
    spec = ScenarioSpec.load(SPEC)
    return replace(spec, days=days, cohort={**spec.cohort, "households": float(households)})


def generate(scenario) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """Readings and register cells generated (every block, every window)."""
    readings = cells = 0
    for block in scenario.blocks():
        batch = scenario.readings(block)
        readings += len(batch)
        cells += block.water_m3.size
    return readings, cells


def baseline(scenario) -> int:  # type: ignore[no-untyped-def]
    """The same shapes filled by bare numpy: random usage, cumulative sums, reading columns."""
    rng = np.random.default_rng(0)
    registry = scenario.cohort.registry
    n, total = scenario.cohort.n_households, 0
    rounds = scenario.n_rounds
    for a in range(0, n, scenario.chunk_households):
        b = min(a + scenario.chunk_households, n)
        lo, hi = np.searchsorted(registry.meter_household, [a, b])
        used = rng.random((hi - lo, rounds))
        values = np.cumsum(used, axis=1).T.ravel()
        meter = np.tile(np.arange(lo, hi, dtype=np.int32), rounds)
        ts = np.repeat(scenario.start + (np.arange(rounds) + 1) * scenario.interval_s, hi - lo)
        assert len(meter) == len(ts) == len(values)
        total += len(meter)
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--days", type=float, default=1.0)
    parser.add_argument("--parquet-households", type=int, default=100_000, help="0: skip the Parquet row")
    args = parser.parse_args()

    rows: list[tuple[str, int, int, float]] = []
    t = time.perf_counter()
    scenario = _spec(args.households, args.days).build()
    rows.append(("cohort + absences + incidents", args.households, 0, time.perf_counter() - t))
    t = time.perf_counter()
    readings, _ = generate(scenario)
    rows.append(("readings (registers + columns)", args.households, readings, time.perf_counter() - t))
    t = time.perf_counter()
    filled = baseline(scenario)
    rows.append(("baseline: bare numpy fill", args.households, filled, time.perf_counter() - t))
    if args.parquet_households:
        small = _spec(args.parquet_households, args.days).build()
        with tempfile.TemporaryDirectory() as tmp:
            t = time.perf_counter()
            write_dataset(small, tmp, formats=("parquet",))
            seconds = time.perf_counter() - t
            size = (Path(tmp) / "readings.parquet").stat().st_size
        n = sum(len(small.readings(b)) for b in small.blocks())
        rows.append((f"parquet dataset ({size / 1e6:.0f} MB)", args.parquet_households, n, seconds))

    print(f"\nsimulate benchmark: {args.days:g} day(s) of {scenario.interval_s // 60}-minute readings, "
          f"realistic lifestyle, absences, incidents\n")
    print(f"{'what':<34} {'homes':>10} {'readings':>13} {'seconds':>9} {'readings/s':>12} {'vs baseline':>12}")
    base_rate = filled / rows[2][3]
    for name, homes, n, seconds in rows:
        rate = n / seconds if n else 0.0
        ratio = f"{rate / base_rate:.2f}x" if n else ""
        print(f"{name:<34} {homes:>10,} {n:>13,} {seconds:>9.2f} {rate:>12,.0f} {ratio:>12}")
    generated_s = rows[0][3] + rows[1][3]  # the cohort is part of generating the day
    ok = generated_s < 60.0 and readings / rows[1][3] >= 1e6
    print(f"\ngoal (1M homes' day, cohort + readings, < 60 s; >= 1M readings/s): {'met' if ok else 'NOT met'} "
          f"for {args.households:,} homes ({generated_s:.1f} s)")


if __name__ == "__main__":
    main()
