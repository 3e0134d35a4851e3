"""What a programme that watches only the power meter trades: families' false alarms against elders found.

    python benchmarks/power_only_tradeoff.py [--eval-dir ../shared/eval] [--hours 24,30,33,36]

Issue 11 asks for at most 0.5 welfare alarms a home-month on the real hourly electricity
homes (families, ``real/electricity``). Those homes have nothing but an hourly power
meter, and so has any elder whose programme watches only that meter. This prints, side
by side, what one setting gives both:

* ``real/electricity``: false alarms per home-month on normal living, visible absences alarmed;
* the independent single-resident cohorts A and B seen through their power meter alone,
  read hourly (:func:`quality.datasets.power_only`): incapacitations alarmed within 24 h,
  and within 48 h, median delay (of those within 48 h), false alarms.

Rows: lifesign's defaults (a home with no meter but electricity waits at least
``no_usage.electricity_only.hours``: 34 h, 24 h for the red tier), the same without that
floor (the defaults before it: routines may raise a silence's threshold up to
``adapt.max_hours``, 24 h, then 36 and 48), then one floor for every tier of each of
``--hours``. Scored by ``quality.scoring`` like every table; the elders' columns add what
was found within 48 h (the first welfare alarm of the home in [fall, fall + 48 h]) and its
median delay, since a floor past 24 h finds nobody within the scorer's day.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import numpy as np
from quality.datasets import (
    Dataset,
    eval_dir_default,
    independent_dataset,
    power_only,
    real_dataset,
)
from quality.project import Thresholds, default_thresholds
from quality.runs import AlarmRecord, lifesign_alarms, score_alarms

ROOT = Path(__file__).resolve().parents[1]


def settings(base: Thresholds, row: str) -> Thresholds:
    """``defaults``, ``no floor`` [``cap N``] (routines raise up to N h) or ``floor N`` (N h
    for every tier)."""
    if row == "defaults":
        return base
    tiers = {tier: replace(layer, electricity_only_hours=None) for tier, layer in base.tiers.items()}
    if row.startswith("floor "):
        return replace(base, tiers=tiers, defaults=replace(base.defaults, electricity_only_hours=float(row.split()[1])))
    layer = replace(base.defaults, electricity_only_hours=0.0)
    if "cap" in row:
        layer = replace(layer, adapt_max_hours=float(row.split()[-1]))
    return replace(base, tiers=tiers, defaults=layer)


def found_within(ds: Dataset, alarms: list[AlarmRecord], hours: float) -> tuple[int, float]:
    """Incidents whose home opened a welfare alarm within ``hours`` of the fall, and the median
    delay of those (each alarm finds one incident)."""
    delays, used = [], set()
    for row in ds.incidents.sort_values("start").itertuples(index=False):
        mine = sorted((at, k) for k, (h, at, kind, *_) in enumerate(alarms)
                      if h == row.household_id and kind == "no_usage" and k not in used
                      and row.start <= at <= row.start + hours * 3600.0)
        if mine:
            used.add(mine[0][1])
            delays.append((mine[0][0] - row.start) / 3600.0)
    return len(delays), float(np.median(delays)) if delays else float("nan")


def cells(ds: Dataset, row: str) -> list[str]:
    alarms = lifesign_alarms(ds, settings(default_thresholds(ds.timezone), row))
    s = score_alarms(ds, alarms)
    if len(ds.incidents) == 0:
        return [f"{s.false_alarms_per_home_month:.2f}", f"{s.absences_alarmed}/{s.absences}"]
    found, median = found_within(ds, alarms, 48.0)
    return [f"{s.caught}/{s.incidents}", f"{found}/{s.incidents}", "-" if not found else f"{median:.1f} h",
            f"{s.false_alarms_per_home_month:.2f}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--eval-dir", type=Path, default=eval_dir_default(ROOT))
    parser.add_argument("--hours", default="24,30,33,36", help="floors to try, comma-separated")
    args = parser.parse_args()
    if not args.eval_dir.is_dir():
        parser.error(f"--eval-dir: {args.eval_dir} is not a folder (expected ../shared/eval beside the repository)")
    eval_dir = str(args.eval_dir.resolve())
    sets = [real_dataset(eval_dir, "electricity")] + [power_only(independent_dataset(eval_dir, v), 3600.0) for v in "AB"]
    rows = ["defaults", "no floor", "no floor, cap 36", "no floor, cap 48"] + \
        [f"floor {h.strip()}" for h in args.hours.split(",") if h.strip()]
    head = ["setting", "families FA/home-mo", "absences"] + \
        [c for v in "AB" for c in (f"{v}: caught 24h", "in 48h", "median", "FA/home-mo")]
    widths = [16, 20, 9] + [14, 7, 8, 11] * 2
    print("real/electricity (families, hourly) | independent A and B, power meter alone, hourly (elders)")
    print(" ".join(h.rjust(w) for h, w in zip(head, widths, strict=True)))
    for row in rows:
        values = [row] + [c for ds in sets for c in cells(ds, row)]
        print(" ".join(v.rjust(w) for v, w in zip(values, widths, strict=True)), flush=True)


if __name__ == "__main__":
    main()
