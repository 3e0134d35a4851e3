"""What a programme that watches only the power meter trades: families' false alarms against elders found.

    python benchmarks/power_only_tradeoff.py [--eval-dir ../shared/eval] [--hours 16,20,24,30,36]

Issue 11 asks for at most 0.5 welfare alarms a home-month on the real hourly electricity
homes (families, ``real/electricity``). Those homes have nothing but an hourly power
meter, and so has any elder whose programme watches only that meter. This prints, side
by side, what one setting gives both:

* ``real/electricity``: false alarms per home-month on normal living, visible absences alarmed;
* the independent single-resident cohorts A and B seen through their power meter alone,
  read hourly (:func:`quality.datasets.power_only`): incapacitations alarmed within 24 h,
  median delay, false alarms.

Rows: lifesign's defaults (routines may raise a silence's threshold up to
``adapt.max_hours``: 24 h, then 36 and 48), then one flat threshold for every home (no
tiers, no routines) of each of ``--hours``. Scored by ``quality.scoring`` like every table.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from quality.datasets import (
    Dataset,
    eval_dir_default,
    independent_dataset,
    power_only,
    real_dataset,
)
from quality.project import Thresholds, default_thresholds
from quality.runs import lifesign_alarms, score_alarms

ROOT = Path(__file__).resolve().parents[1]


def settings(base: Thresholds, row: str) -> Thresholds:
    """``defaults``, ``cap N`` (routines raise up to N h) or ``flat N`` (N h for every home)."""
    if row == "defaults":
        return base
    kind, hours = row.split()
    if kind == "cap":
        return replace(base, defaults=replace(base.defaults, adapt_max_hours=float(hours)))
    return replace(base, tiers={}, defaults=replace(base.defaults, no_usage_hours=float(hours), adapt_max_hours=0.0))


def cells(ds: Dataset, row: str) -> list[str]:
    s = score_alarms(ds, lifesign_alarms(ds, settings(default_thresholds(ds.timezone), row)))
    if len(ds.incidents) == 0:
        return [f"{s.false_alarms_per_home_month:.2f}", f"{s.absences_alarmed}/{s.absences}"]
    median = "-" if s.caught == 0 else f"{s.median_delay_h:.1f} h"
    return [f"{s.caught}/{s.incidents}", median, f"{s.false_alarms_per_home_month:.2f}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--eval-dir", type=Path, default=eval_dir_default(ROOT))
    parser.add_argument("--hours", default="16,20,24,30,36", help="flat thresholds to try, comma-separated")
    args = parser.parse_args()
    if not args.eval_dir.is_dir():
        parser.error(f"--eval-dir: {args.eval_dir} is not a folder (expected ../shared/eval beside the repository)")
    eval_dir = str(args.eval_dir.resolve())
    sets = [real_dataset(eval_dir, "electricity")] + [power_only(independent_dataset(eval_dir, v), 3600.0) for v in "AB"]
    rows = ["defaults", "cap 36", "cap 48"] + [f"flat {h.strip()}" for h in args.hours.split(",") if h.strip()]
    head = ["setting", "families FA/home-mo", "absences", "A: caught 24h", "median", "FA/home-mo",
            "B: caught 24h", "median", "FA/home-mo"]
    widths = [12, 20, 9, 14, 8, 11, 14, 8, 11]
    print("real/electricity (families, hourly) | independent A and B, power meter alone, hourly (elders)")
    print(" ".join(h.rjust(w) for h, w in zip(head, widths, strict=True)))
    for row in rows:
        values = [row] + [c for ds in sets for c in cells(ds, row)]
        print(" ".join(v.rjust(w) for v, w in zip(values, widths, strict=True)), flush=True)


if __name__ == "__main__":
    main()
