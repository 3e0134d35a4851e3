"""Detector sweep and state-update speed at city scale, beside a bare numpy baseline.

    python benchmarks/detect.py [--sizes 1000000 10000000]

For each size (meters; two a home: water + electricity) it prints:
- idle sweep: a sweep when no household is due (the common case between readings),
  beside a bare ``np.flatnonzero(deadline <= now)`` over the same household array and a
  bare compare over one float64 deadline per meter (the DESIGN.md anchor);
- sweep after a 100k-reading batch (the touched households are judged by every rule);
- state bytes per meter (every detector array, the settings table included);
- state-update throughput from a 100k-reading batch (sort, dedup, activity, flow, days,
  household refresh, routine learning), beside the same batches into a detector with
  routine learning off (``adapt: ~``): what learning costs.
Targets (DESIGN.md): sweep <= 1 ms at 1M meters, <= 10 ms at 10M; <= 64 B/meter.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from dataclasses import replace
from importlib import resources

import numpy as np

from detectors.detector import Detector
from detectors.thresholds import Thresholds
from lifesign.readings import ReadingBatch
from lifesign.registry import Registry

T0 = 1_763_568_000.0


def city(n_meters: int) -> Registry:
    """A registry of n_meters/2 homes built straight from columns (ids are placeholders:
    the detector never looks them up on the hot path)."""
    n_homes = n_meters // 2
    homes = np.arange(n_homes)
    same = np.full(n_homes, "C1", dtype=object)
    return Registry(
        household_ids=homes.astype(object), community=same, grid=np.full(n_homes, "G1", dtype=object),
        building=same, unit=same, room=same, resident_name=same, age=np.full(n_homes, 80, np.int16),
        phone=same, emergency_contact=same, tier=(homes % 3).astype(np.int8),
        meter_ids=np.empty(0, dtype=object), meter_household=np.repeat(homes, 2).astype(np.int32),
        meter_utility=np.tile(np.array([0, 1], np.int8), n_homes), meter_gateway=np.zeros(n_meters, np.int32),
        gateway_ids=["GW1"], household_index={"-": 0}, meter_index={"-": 0}, gateway_index={"GW1": 0},
    )


def timed(fn: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples)


def thresholds(adapt: bool = True) -> Thresholds:
    text = resources.files("app").joinpath("defaults/thresholds.yaml").read_text(encoding="utf-8")
    shipped = Thresholds.parse(text, "defaults/thresholds.yaml")
    return shipped if adapt else replace(shipped, defaults=replace(shipped.defaults, adapt_max_hours=0.0))


def run(n_meters: int, rng: np.random.Generator) -> dict[str, float]:
    registry = city(n_meters)
    detector = Detector(registry, thresholds())
    baseline = Detector(registry, thresholds(adapt=False))
    meters = np.arange(n_meters, dtype=np.int32)
    # Two rounds of readings for every meter (water 1 L, power 200 W over 15 min), then one
    # full sweep judges every household and precomputes its next check.
    for k, at in enumerate((T0, T0 + 900.0)):
        values = np.where(registry.meter_utility == 0, 100.0 + 0.001 * k, 5000.0 + 0.05 * k)
        for d in (detector, baseline):
            d.observe(ReadingBatch(meters, np.full(n_meters, at), values))
    t = time.perf_counter()
    detector.sweep(T0 + 900.0)
    full = time.perf_counter() - t
    now = T0 + 960.0
    idle = timed(lambda: detector.sweep(now), 30)
    next_check = detector.households.next_check
    bare_homes = timed(lambda: np.flatnonzero(next_check <= now), 30)
    per_meter = np.full(n_meters, T0 + 6 * 3600.0)
    bare_meters = timed(lambda: np.flatnonzero(per_meter <= now), 30)

    batch_size = 100_000
    picked = rng.choice(n_meters, size=batch_size, replace=False).astype(np.int32)
    observes, sweeps, plain = [], [], []
    for k in range(5):
        ts = np.full(batch_size, T0 + 1800.0 + 900.0 * k)
        values = np.where(registry.meter_utility[picked] == 0, 100.01 + 0.001 * k, 5000.2 + 0.05 * k)
        batch = ReadingBatch(picked, ts, values)
        t = time.perf_counter()
        detector.observe(batch)
        observes.append(time.perf_counter() - t)
        t = time.perf_counter()
        baseline.observe(batch)
        plain.append(time.perf_counter() - t)
        t = time.perf_counter()
        detector.sweep(float(ts[0]))
        sweeps.append(time.perf_counter() - t)
    return {
        "meters": n_meters, "full_sweep_s": full, "idle_sweep_s": idle, "bare_homes_s": bare_homes,
        "bare_meters_s": bare_meters, "sweep_after_batch_s": statistics.median(sweeps),
        "bytes_per_meter": detector.state_nbytes / n_meters,
        "update_readings_per_s": batch_size / statistics.median(observes),
        "update_plain_readings_per_s": batch_size / statistics.median(plain),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    print(f"{'meters':>11} {'idle sweep':>11} {'bare cmp homes':>15} {'bare cmp meters':>16} "
          f"{'sweep after 100k':>17} {'full re-judge':>14} {'B/meter':>8} {'update readings/s':>18} "
          f"{'adapt off':>11}")
    for n in args.sizes:
        r = run(n, rng)
        print(f"{n:>11,} {r['idle_sweep_s'] * 1e3:>9.3f}ms {r['bare_homes_s'] * 1e3:>13.3f}ms "
              f"{r['bare_meters_s'] * 1e3:>14.3f}ms {r['sweep_after_batch_s'] * 1e3:>15.1f}ms "
              f"{r['full_sweep_s']:>12.2f} s {r['bytes_per_meter']:>8.1f} {r['update_readings_per_s']:>18,.0f} "
              f"{r['update_plain_readings_per_s']:>11,.0f}",
              flush=True)


if __name__ == "__main__":
    main()
