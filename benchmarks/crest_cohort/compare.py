"""Side-by-side per-home distribution table: eval cohort vs generated cohort.

Usage: python compare.py [EVAL_ROOT] [GEN_ROOT]   (defaults: ../shared/eval/independent beside
the repository, and out/independent beside this file: make_cohort.py's default --out)
Metrics are computed on days 1-30 (incident-free learning days) of every home.
"""
import json
import os
import sys

import numpy as np
import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))
# beside the repository, and make_cohort.py's default --out
EVAL = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "..", "shared", "eval", "independent")
GEN = sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, "out", "independent")
TZ = 8 * 3600


def per_home(folder, days=30):
    with open(f"{folder}/../plan.json", encoding="utf-8") as f:
        plan = json.load(f)
    t0 = plan["start_epoch"]
    r = pd.read_parquet(f"{folder}/readings.parquet")
    r = r[r.ts <= t0 + days * 86400]
    rows = []
    for hid, g in r.groupby(r.meter.str[1:]):
        e = g[g.meter.str[0] == "E"].sort_values("ts").value.to_numpy()
        w = g[g.meter.str[0] == "W"].sort_values("ts").value.to_numpy()
        de = np.diff(e)                      # kWh per 15 min
        dw = np.round(np.diff(w) * 1000)     # litres per 15 min
        p = de * 4000.0                      # mean W over the 15 min
        n = len(de) // 96
        de, dw, p = de[:n * 96], dw[:n * 96], p[:n * 96]
        # hours with a >=300 W step between consecutive 15-min means
        step = np.abs(np.diff(p, prepend=p[0])) >= 300
        hours_step = step.reshape(-1, 4).any(axis=1).mean()
        gaps = []
        for d in dw.reshape(n, 96):
            used = d > 0
            run = best = 0
            for u in used:
                run = 0 if u else run + 1
                best = max(best, run)
            gaps.append(best / 4.0)
        rows.append({"home": hid,
                         "kwh_day": de.reshape(n, 96).sum(1).mean(),
                         "water_l_day": dw.reshape(n, 96).sum(1).mean(),
                         "base_w": p.min(),
                         "base_w_1h": (de.reshape(-1, 4).sum(1) * 1000).min(),
                         "p99_w": np.percentile(p, 99),
                         "water_share": (dw > 0).mean(),
                         "step300_hours": hours_step,
                         "max_gap_h": np.median(gaps)})
    return pd.DataFrame(rows)


def fmt(s):
    q = np.percentile(s, [10, 50, 90])
    return f"{q[1]:8.3g} [{q[0]:.3g}–{q[2]:.3g}]"


if __name__ == "__main__":
    names = {"kwh_day": "daily kWh", "water_l_day": "daily water L",
             "base_w": "min 15-min power W",
             "base_w_1h": "min hourly power W", "p99_w": "99th pct 15-min power W", "water_share": "share 15-min w/ water",
             "step300_hours": "share hours w/ >=300W step",
             "max_gap_h": "longest daily water gap h (median day)"}
    for v in "AB":
        a, b = per_home(f"{EVAL}/{v}"), per_home(f"{GEN}/{v}")
        print(f"\nVariant {v}: eval n={len(a)}  generated n={len(b)}   median [p10–p90] across homes, days 1–30")
        print(f"{'metric':40s} {'eval':>28s} {'generated':>28s}")
        for k, lab in names.items():
            print(f"{lab:40s} {fmt(a[k]):>28s} {fmt(b[k]):>28s}")
