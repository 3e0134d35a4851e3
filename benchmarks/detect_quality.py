"""Detection quality on a seeded simulated cohort: learned thresholds vs fixed rules.

    python benchmarks/detect_quality.py [--homes 1000] [--days 60] [--train-days 60] [--seed 3]

A cohort with realistic lifestyles (late risers, naps, visitors, baths, fridge cycles,
low users) lives ``--train-days`` days (the history `lifesign learn` fits) and then
``--days`` days with incidents (incapacitated, fall with the tap running, leaks,
illness), absences (overnight stays, trips, hospital stays), meter outages and
building water/power cuts. The same readings go through three rule sets:

* fixed: "under 0.01 m³ of water in 12 h", checked every 15 minutes (today's programmes);
* lifesign defaults: tier thresholds 10/12/16 h on confirmed whole-home silence;
* lifesign learned: the defaults plus the overrides `lifesign learn` suggests from
  the training days (per-home rhythm weights, threshold, base load).

Printed per rule set: recall and detection delay of welfare incidents, false alarms
per household-month on normal living (the target: <= 0.5), alarms explained by an
absence / cut / outage (what registered absences and dispatch's storm guard handle),
and warnings per household-month.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from importlib import resources

import numpy as np
import pandas as pd

from detectors.backtest import Score, normalise_ground_truth, replay, score, windows
from detectors.detector import Detector
from detectors.learn import LearnSettings, learn
from detectors.thresholds import Thresholds
from lifesign.alerts import Alert, AlertState, EpisodeKey, Rule, Severity
from lifesign.grid import UTILITY_CODES, Utility
from lifesign.readings import ReadingBatch
from lifesign.registry import Registry
from simulators.absences import draw_absences
from simulators.cohort import Cohort, make_cohort
from simulators.dataset import ground_truth_rows
from simulators.incidents import draw_incident
from simulators.lifestyle import Lifestyle
from simulators.scenario import Scenario, pick_incidents

DAY = 86400.0
H = 3600.0
START = 20412 * DAY - 8 * H  # a local (UTC+8) midnight


@dataclass(frozen=True)
class Cohorts:
    cohort: Cohort
    train: Scenario
    run: Scenario
    truth: pd.DataFrame


def build(homes: int, days: float, train_days: float, seed: int, incidents_per_1000: int = 40) -> Cohorts:
    cohort = make_cohort(homes, seed, low_user_fraction=0.05, with_gas_fraction=0.2)
    lifestyle = Lifestyle.realistic()
    train_start = START - train_days * DAY
    train = Scenario(cohort, train_start, train_days, seed=seed, lifestyle=lifestyle,
                     absences=draw_absences(cohort, train_start, train_days, seed))
    absences = draw_absences(cohort, START, days, seed + 1)
    scale = max(homes / 1000.0, 0.01)
    n_incap = max(2, round(incidents_per_1000 * scale))
    n_fall = max(1, round(10 * scale))
    incap = pick_incidents(cohort, n_incap, START, days, seed, avoid=absences)
    falls = pick_incidents(cohort, n_fall, START, days, seed + 7, kind="fall_tap_running", avoid=absences,
                           exclude=frozenset(i.household_id for i in incap))
    rng = np.random.default_rng(seed)
    taken = {i.household_id for i in incap + falls}
    free = [k for k, h in enumerate(cohort.registry.household_ids) if h not in taken]
    rng.shuffle(free)
    extra = []
    counts = {"leak": max(1, round(10 * scale)), "illness": max(1, round(10 * scale)),
              "meter_offline": max(1, round(30 * scale)), "water_cut": max(1, round(5 * scale)),
              "power_cut": max(1, round(3 * scale))}
    for kind, count in counts.items():
        for _ in range(count):
            at = float(np.floor(START + DAY + rng.random() * (days - 2) * DAY))
            household = free.pop() if kind in ("leak", "illness") else int(rng.integers(homes))
            extra.append(draw_incident(cohort, kind, at, rng, household=household))
    run = Scenario(cohort, START, days, seed=seed + 1, lifestyle=lifestyle, absences=absences,
                   incidents=tuple(sorted(incap + falls + tuple(extra), key=lambda i: (i.start, i.household_id, i.kind))))
    truth = normalise_ground_truth(pd.DataFrame(ground_truth_rows(run)))
    return Cohorts(cohort, train, run, truth)


def readings(scenario: Scenario) -> ReadingBatch:
    return ReadingBatch.concat(r.batch for r in scenario.rounds())


def default_thresholds() -> Thresholds:
    text = resources.files("app").joinpath("defaults/thresholds.yaml").read_text(encoding="utf-8")
    return Thresholds.parse(text, "defaults/thresholds.yaml")


def fixed_rule(registry: Registry, batch: ReadingBatch, litres: float = 10.0, hours: float = 12.0,
               step_s: float = 900.0) -> list[Alert]:
    """Today's rule: under ``litres`` of water in the last ``hours``, checked every ``step_s``."""
    alerts: list[Alert] = []
    water = registry.meter_utility[batch.meter] == UTILITY_CODES[Utility.WATER]
    w = batch.take(np.flatnonzero(water)).sorted_by_meter_time()
    bounds = np.flatnonzero(np.diff(w.meter)) + 1
    for part in np.split(np.arange(len(w)), bounds):
        if not len(part):
            continue
        ts, value = w.ts[part], w.value[part]
        checks = np.arange(np.ceil((ts[0] + hours * H) / step_s) * step_s, ts[-1] + 1, step_s)
        now_i = np.searchsorted(ts, checks, side="right") - 1
        ago_i = np.searchsorted(ts, checks - hours * H, side="right") - 1
        ok = (ago_i >= 0) & (checks - ts[now_i] <= 3 * H)  # a check needs fresh readings
        low = ok & (value[now_i] - value[np.maximum(ago_i, 0)] < litres / 1000.0 - 1e-9)
        starts = np.flatnonzero(low & ~np.concatenate([[False], low[:-1]]))
        household = str(registry.household_ids[registry.meter_household[w.meter[part[0]]]])
        for k in starts:
            key = EpisodeKey(household, Rule.NO_USAGE.value, float(checks[k] - hours * H))
            alerts.append(Alert(key, AlertState.OPENED, float(checks[k]), {}, Severity.CRITICAL, ("water",)))
    return alerts


def run_rules(c: Cohorts, *, progress: bool = False, settings: LearnSettings | None = None) -> dict[str, tuple[Score, float]]:
    """Score per rule set, and the seconds each replay took."""
    registry = c.cohort.registry
    t = time.perf_counter()
    train = readings(c.train)
    batch = readings(c.run)
    generated = time.perf_counter() - t
    if progress:
        print(f"simulated {len(train) + len(batch):,} readings in {generated:.0f} s", flush=True)
    start, end = c.run.start, c.run.end
    results: dict[str, tuple[Score, float]] = {}
    t = time.perf_counter()
    results["fixed 12 h / 0.01 m³"] = (score(fixed_rule(registry, batch), c.truth, registry, start, end),
                                       time.perf_counter() - t)
    defaults = default_thresholds()
    t = time.perf_counter()
    suggestions = learn(registry, train, defaults, settings or LearnSettings())
    learned = defaults.with_households({s.household_id: s.layer for s in suggestions})
    learn_s = time.perf_counter() - t
    for name, thresholds in (("lifesign defaults", defaults), ("lifesign learned", learned)):
        t = time.perf_counter()
        detector = Detector(registry, thresholds)
        # the service rebuilds state from history at start: warm up on the last training day
        detector.observe(train.take(np.flatnonzero(train.ts >= start - 2 * DAY)))
        alerts = [a for a in replay(detector, windows(batch, 900.0)) if a.at >= start]
        results[name] = (score(alerts, c.truth, registry, start, end), time.perf_counter() - t)
        if progress:
            print(f"{name}: settings table {len(detector.table)} rows ({detector.table.nbytes / 1e3:.0f} kB), "
                  f"detector state {detector.state_nbytes / registry.n_meters:.1f} B/meter", flush=True)
    if progress:
        print(f"learned {len(suggestions)} households in {learn_s:.0f} s", flush=True)
    return results


def table(results: dict[str, tuple[Score, float]]) -> str:
    header = (f"{'rule set':<22} {'recall':>9} {'median delay':>13} {'p90 delay':>10} {'FA/hh-month':>12} "
              f"{'explained/hh-month':>19} {'warnings/hh-month':>18} {'leaks':>6} {'replay':>7}")
    lines = [header]
    for name, (s, seconds) in results.items():
        p90 = float(np.quantile(s.delays_s, 0.9)) / 3600 if s.delays_s else float("nan")
        lines.append(f"{name:<22} {s.caught:>4}/{s.incidents:<4} {s.median_delay_h:>11.2f} h {p90:>8.1f} h "
                     f"{s.false_alarms_per_household_month:>12.2f} {s.per_household_month(sum(s.explained.values())):>19.2f} "
                     f"{s.per_household_month(sum(s.warnings.values())):>18.2f} {s.leaks_caught:>2}/{s.leaks:<3} "
                     f"{seconds:>6.0f}s")
    lines.append("FA: welfare alarms (no_usage critical, continuous_flow) on normal living; explained: welfare alarms "
                 "during an absence, an illness, a building cut or a meter outage")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--homes", type=int, default=1000)
    parser.add_argument("--days", type=float, default=60)
    parser.add_argument("--train-days", type=float, default=60)
    parser.add_argument("--seed", type=int, default=3)
    defaults = LearnSettings()
    parser.add_argument("--learn-hours", type=float, default=defaults.hours)
    parser.add_argument("--learn-margin", type=float, default=None, help="default: 1 + 4 / training days")
    parser.add_argument("--learn-archetypes", type=int, default=defaults.archetypes)
    parser.add_argument("--learn-margin-days", type=float, default=defaults.margin_days)
    args = parser.parse_args()
    c = build(args.homes, args.days, args.train_days, args.seed)
    kinds = c.truth.groupby(["category", "kind"]).size()
    print(f"{args.homes} homes x {args.days:g} days (+{args.train_days:g} training days), seed {args.seed}; "
          f"ground truth: {', '.join(f'{k} {v}' for (_, k), v in kinds.items())}", flush=True)
    settings = LearnSettings(hours=args.learn_hours, margin=args.learn_margin, archetypes=args.learn_archetypes,
                             margin_days=args.learn_margin_days)
    print(f"learning: {settings}", flush=True)
    results = run_rules(c, progress=True, settings=settings)
    print(table(results))
    for name, (s, _) in results.items():
        if s.missed:
            print(f"{name}: missed {', '.join(s.missed[:8])}{' ...' if len(s.missed) > 8 else ''}")
        print(f"{name}: explained {dict(sorted(s.explained.items()))}; warnings {dict(sorted(s.warnings.items()))}")


if __name__ == "__main__":
    main()
