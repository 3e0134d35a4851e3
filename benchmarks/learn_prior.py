"""Regenerate the population prior `lifesign learn` ships (detectors/learning/prior_simulated.json).

    python benchmarks/learn_prior.py [--seeds 1..3] [--homes 300] [--days 60]

Our simulator's homes, on tuning seeds only (the quality benchmark holds seeds 11-15 out,
and no evaluation data goes in): per local start hour, silences per home-day longer than
each length (0-24 h in quarter hours), silences of the default ``learn.max_hours`` or more
left out as absences, and silences started per home-day (how much homes are up then).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from detect_quality import build, default_thresholds, parse_seeds, readings

from detectors.learn import activity
from detectors.learning.prior import PRIOR_FILE, Prior, prior_json
from detectors.learning.silences import exceedance_counts, silences_of, start_counts
from detectors.thresholds import LearnBudget

OUT = Path(__file__).resolve().parents[1] / "detectors" / "learning" / PRIOR_FILE


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seeds", default="1..3")
    parser.add_argument("--homes", type=int, default=300)
    parser.add_argument("--days", type=float, default=60)
    args = parser.parse_args()
    thresholds = default_thresholds()
    tz = thresholds.tz()
    exceed, starts, home_days = 0.0, 0.0, 0.0
    for seed in parse_seeds(args.seeds):
        cohorts = build(args.homes, 10, args.days, seed=seed)  # only the training part is used
        history = readings(cohorts.train)
        registry = cohorts.cohort.registry
        n = registry.n_households
        first, last = np.full(n, np.inf), np.full(n, -np.inf)
        household = registry.meter_household[history.meter]
        np.minimum.at(first, household, history.ts)
        np.maximum.at(last, household, history.ts)
        days = np.where(np.isfinite(first), last - first, 0.0) / 86400.0
        act_h, act_t = activity(registry, history.sorted_by_meter_time(), thresholds)
        s = silences_of(act_h, act_t, np.where(np.isfinite(first), first, 0.0), days, tz, 1, LearnBudget().max_hours)
        exceed = exceed + exceedance_counts(s, n, 1).sum(axis=(0, 1))
        starts = starts + start_counts(s, n, 1).sum(axis=(0, 1))
        home_days += float(days.sum())
        print(f"seed {seed}: {n} homes, {days.sum():.0f} home-days, {len(s.home)} silences", flush=True)
    source = (f"lifesign simulator, seeds {args.seeds}, {args.homes} homes x {args.days:g} days each "
              f"({home_days:.0f} home-days); silences of {LearnBudget().max_hours:g} h or more left out")
    prior = Prior(np.asarray(exceed) / home_days, np.asarray(starts) / home_days, source)
    OUT.write_text(prior_json(prior), encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
