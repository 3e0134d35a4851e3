"""`lifesign simulate`: write a simulated dataset with its ground truth."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    simulate = sub.add_parser("simulate", help="write a simulated dataset with its ground truth")
    simulate.add_argument("--out", type=Path, required=True)
    simulate.add_argument("--households", type=int, default=200)
    simulate.add_argument("--days", type=float, default=7)
    simulate.add_argument("--incidents", type=int, default=5)
    simulate.add_argument("--seed", type=int, default=1)
    simulate.set_defaults(handler=_simulate)


def _simulate(args: argparse.Namespace) -> int:
    from lifesign.app.demo import scenario_start
    from simulators.cohort import make_cohort
    from simulators.scenario import Scenario, pick_incidents, write_dataset

    cohort = make_cohort(args.households, args.seed)
    start = scenario_start(args.days)
    incidents = pick_incidents(cohort, args.incidents, start, args.days, args.seed)
    write_dataset(Scenario(cohort, start=start, days=args.days, incidents=incidents, seed=args.seed), args.out)
    print(f"wrote {args.out} ({args.households} homes, {args.days:g} days, {len(incidents)} incidents)")
    return 0
