"""Detection quality on every dataset: the fixed rule, lifesign defaults, lifesign learned (both methods).

    python benchmarks/detect_quality.py [--datasets sim,real,independent,power-only] [--seeds 11..15]
        [--sim-homes 300] [--eval-dir ../shared/eval] [--cohort-dir DIR ...] [--json out.json]

One table per dataset:

* our simulator on held-out seeds (a seeded cohort with incapacitations, falls with the tap
  running, half of them with a load left on, illness, leaks, absences, meter outages and
  building cuts, after 60 days without incidents to learn from);
* real homes (``real/electricity``: 9 homes, hourly, 2016; ``real/water``: 3 homes,
  minutely, March 2015), where the absences are those the readings show;
* the independent single-resident cohort (``independent/A`` and ``B``), with incapacitations
  at known times, half of them with a light left on;
* ``power-only``: the same cohort as a programme that watches only the power meter sees
  it (water dropped; read every 15 minutes, and hourly like the real electricity homes):
  what the elders of such a programme get, beside the families of ``real/electricity``;
* ``--cohort-dir DIR`` (any number): a larger cohort made like ``independent`` by
  ``benchmarks/crest_cohort/make_cohort.py`` with other seeds, A and B.

Alarms are scored by ``quality.scoring``, which shares no code with the detector; the
definitions are in its docstring and in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from quality.datasets import (
    Dataset,
    eval_dir_default,
    independent_dataset,
    power_only,
    real_dataset,
)
from quality.project import LearnSettings, default_thresholds
from quality.report import LEGEND, table, to_json
from quality.runs import RULE_SETS, Outcome, run_dataset
from quality.scoring import combine
from quality.simulated import Cohorts, build, readings, simulated_dataset

__all__ = ["Cohorts", "build", "default_thresholds", "readings", "run_dataset", "simulated_dataset"]

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ("sim", "real", "independent", "power-only")


def parse_seeds(text: str) -> list[int]:
    """``11..15`` or ``11,12,20``."""
    if ".." in text:
        lo, hi = text.split("..")
        return list(range(int(lo), int(hi) + 1))
    return [int(s) for s in text.split(",") if s.strip()]


def _caption(ds: Dataset, seconds: float) -> str:
    return (f"== {ds.name}: {ds.registry.n_households} homes, {ds.train_note}; "
            f"{len(ds.incidents)} incidents, {len(ds.absences)} absences; {seconds:.0f} s ==")


def run_sim(args: argparse.Namespace, results: dict[str, Any]) -> None:
    t = time.perf_counter()
    outcomes: dict[str, Outcome] = {}
    per_rule: dict[str, list[Any]] = {name: [] for name in RULE_SETS}
    for seed in parse_seeds(args.seeds):
        ds = simulated_dataset(args.sim_homes, seed, args.sim_days, args.sim_train_days)
        for name, outcome in run_dataset(ds).items():
            outcomes[f"{name} | seed {seed}"] = outcome
            per_rule[name].append(outcome.score)
            results.setdefault("simulator", {}).setdefault(str(seed), {})[name] = to_json(outcome.score, outcome.seconds)
        print(f"  seed {seed}: {len(ds.incidents)} welfare incidents, {len(ds.absences)} absences, "
              f"{len(ds.leaks)} leaks, {len(ds.explained)} explained windows", flush=True)
    pooled = {name: combine(s for s in scores if s is not None) for name, scores in per_rule.items()}
    for name, s in pooled.items():
        results.setdefault("simulator", {}).setdefault("all", {})[name] = to_json(s, 0.0)
    seconds = time.perf_counter() - t
    print(f"== simulator: {args.sim_homes} homes x {args.sim_days:g} days after {args.sim_train_days:g} "
          f"training days, seeds {args.seeds}; {seconds:.0f} s ==")
    print(table("", outcomes, pooled).lstrip("\n"), flush=True)


def run_one(ds: Dataset, results: dict[str, Any], started: float) -> None:
    outcomes = run_dataset(ds)
    print(_caption(ds, time.perf_counter() - started))
    for note in ds.notes:
        print(f"  {note}")
    print(table("", outcomes).lstrip("\n"), flush=True)
    results[ds.name] = {name: to_json(o.score, o.seconds) for name, o in outcomes.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--datasets", default=",".join(DATASETS), help="comma-separated: " + ", ".join(DATASETS))
    parser.add_argument("--seeds", default="11..15", help="simulator seeds: 11..15 or 11,12,13")
    parser.add_argument("--sim-homes", type=int, default=300)
    parser.add_argument("--sim-days", type=float, default=60)
    parser.add_argument("--sim-train-days", type=float, default=60)
    parser.add_argument("--eval-dir", type=Path, default=eval_dir_default(ROOT))
    parser.add_argument("--cohort-dir", type=Path, action="append", default=[],
                        help="a cohort made by benchmarks/crest_cohort/make_cohort.py (its --out folder)")
    parser.add_argument("--json", type=Path, help="write every number here")
    args = parser.parse_args()
    chosen = [d.strip() for d in args.datasets.split(",") if d.strip()]
    unknown = sorted(set(chosen) - set(DATASETS))
    if unknown:
        parser.error(f"--datasets: unknown {', '.join(unknown)}; expected some of {', '.join(DATASETS)}")
    missing = [str(f) for f in args.cohort_dir if not (f / "independent" / "plan.json").is_file()]
    if missing:
        parser.error(f"--cohort-dir: no independent/plan.json in {', '.join(missing)} "
                     "(the --out folder of benchmarks/crest_cohort/make_cohort.py)")
    eval_dir = str(args.eval_dir.resolve())
    if ({"real", "independent", "power-only"} & set(chosen)) and not args.eval_dir.is_dir():
        parser.error(f"--eval-dir: {args.eval_dir} is not a folder (expected ../shared/eval beside the repository)")
    print(f"learning: {LearnSettings()}\n{LEGEND}\n", flush=True)
    results: dict[str, Any] = {}
    begun = time.perf_counter()
    if "sim" in chosen:
        run_sim(args, results)
        print()
    if "real" in chosen:
        for utility in ("electricity", "water"):
            t = time.perf_counter()
            run_one(real_dataset(eval_dir, utility), results, t)
            print()
    if "independent" in chosen:
        for variant in ("A", "B"):
            t = time.perf_counter()
            run_one(independent_dataset(eval_dir, variant), results, t)
            print()
    if "power-only" in chosen:
        for variant in ("A", "B"):
            for interval_s in (900.0, 3600.0):
                t = time.perf_counter()
                run_one(power_only(independent_dataset(eval_dir, variant), interval_s), results, t)
                print()
    for folder in args.cohort_dir:
        for variant in ("A", "B"):
            t = time.perf_counter()
            ds = independent_dataset(str(folder.resolve()), variant)
            run_one(replace(ds, name=f"made like independent ({folder.resolve()})/{variant}"), results, t)
            print()
    print(f"total {time.perf_counter() - begun:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=list), encoding="utf-8")


if __name__ == "__main__":
    main()
