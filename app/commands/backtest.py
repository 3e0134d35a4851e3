"""`lifesign backtest`: what would these thresholds have fired on past readings?

Readings come from the service's history store (``-c site.yaml``) or from a file of
``meter, ts, value`` rows (CSV or Parquet, e.g. a ``lifesign simulate`` dataset) plus a
registry; they go through the same detector the service runs, in event-time windows,
with the given thresholds. Prints alerts per household-month by rule, and with a
ground truth CSV recall, detection delay and false alarms; optionally plots one
household's usage with its alerts (PNG).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from app.messages import Complaint
from detectors.thresholds import Thresholds
from lifesign.readings import ReadingBatch
from lifesign.registry import Registry


def register(sub: Any) -> None:
    p = sub.add_parser("backtest", help="replay history through the detectors with a thresholds file")
    add_source_options(p)
    p.add_argument("--thresholds", type=Path, required=True, help="the thresholds file to try")
    p.add_argument("--ground-truth", type=Path, help="CSV: household_id, kind, start[, end, category, ...] "
                   "(default: ground_truth.csv of --dataset, if there)")
    p.add_argument("--step-minutes", type=float, default=15.0, help="sweep every this much event time")
    p.add_argument("--plot", metavar="HOUSEHOLD", help="draw this household's usage and alerts")
    p.add_argument("--plot-out", type=Path, help="PNG file for --plot (default: backtest-HOUSEHOLD.png)")
    p.add_argument("--alerts-out", type=Path, help="write every alert as CSV")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(handler=_backtest)


# -- where readings come from (shared with `lifesign learn`) ------------------------
def add_source_options(p: argparse.ArgumentParser) -> None:
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("-c", "--config", type=Path, help="site.yaml: its registry and history store")
    where.add_argument("--dataset", type=Path, help="a dataset folder: households.csv, meters.csv, "
                       "readings.parquet or readings.csv (e.g. from `lifesign simulate`)")
    where.add_argument("--readings", type=Path, help="CSV or Parquet with columns meter, ts, value")
    p.add_argument("--households", type=Path, help="households.csv for --readings")
    p.add_argument("--meters", type=Path, help="meters.csv for --readings")
    p.add_argument("--from", dest="start", help="first instant (epoch seconds or ISO 8601)")
    p.add_argument("--to", dest="end", help="end instant, exclusive (epoch seconds or ISO 8601)")


@dataclass(frozen=True)
class History:
    registry: Registry
    readings: ReadingBatch
    source: str
    folder: Path | None = None
    #: the site's zone when the history is a site's (-c): its thresholds and plots are in it
    timezone: str | None = None


def load_history(args: argparse.Namespace) -> History:
    start, end = _instant(args.start, "--from"), _instant(args.end, "--to")
    if args.config is not None:
        from app.ingest_wiring import open_history_store
        from app.site import SiteConfig

        site = SiteConfig.load(args.config)
        registry = Registry.load(site.households_csv, site.meters_csv)
        store = open_history_store(site.history, site.data_dir, [str(m) for m in registry.meter_ids], read_only=True)
        try:
            batch = store.read(start, end)
        finally:
            store.close()
        return History(registry, batch, f"the history store of {args.config}", timezone=site.timezone)
    if args.dataset is not None:
        folder = Path(args.dataset)
        registry = Registry.load(folder / "households.csv", folder / "meters.csv")
        parquet, csv = folder / "readings.parquet", folder / "readings.csv"
        path = parquet if parquet.exists() else csv
        if not path.exists():
            raise LookupError(f"{folder}: no readings.parquet or readings.csv")
        return History(registry, _read_readings(path, registry, start, end), str(path), folder)
    if args.households is None or args.meters is None:
        raise ValueError("--readings needs --households and --meters (the registry its meter ids belong to)")
    registry = Registry.load(args.households, args.meters)
    return History(registry, _read_readings(args.readings, registry, start, end), str(args.readings))


def _read_readings(path: Path, registry: Registry, start: float | None, end: float | None) -> ReadingBatch:
    if not path.exists():
        raise LookupError(f"{path} does not exist")
    if path.suffix == ".parquet":
        frame = pd.read_parquet(path, columns=["meter", "ts", "value"])
    else:
        frame = pd.read_csv(path, dtype={"meter": str}, usecols=["meter", "ts", "value"])
    index = frame["meter"].astype(str).map(registry.meter_index)
    unknown = index.isna()
    if unknown.any():
        first = frame["meter"][unknown].iloc[0]
        raise ValueError(f"{path}: {int(unknown.sum())} readings of meters not in the registry, e.g. {first!r}")
    ts = pd.to_numeric(frame["ts"]).to_numpy(dtype=np.float64)
    keep = np.ones(len(ts), dtype=bool)
    if start is not None:
        keep &= ts >= start
    if end is not None:
        keep &= ts < end
    return ReadingBatch(index.to_numpy()[keep].astype(np.int32), ts[keep],
                        pd.to_numeric(frame["value"]).to_numpy(dtype=np.float64)[keep])


def _instant(text: str | None, option: str) -> float | None:
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{option} must be epoch seconds or an ISO 8601 time, got {text!r}") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


# -- the command --------------------------------------------------------------------
def _backtest(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from detectors.backtest import read_ground_truth, replay, score, windows
    from detectors.detector import Detector

    history = load_history(args)
    thresholds = Thresholds.load(args.thresholds, history.timezone)
    batch = history.readings
    if not len(batch):
        raise Complaint("history.empty", source=history.source)
    registry = history.registry
    if args.plot and args.plot not in registry.household_index:  # a typo fails now, not after the replay
        raise Complaint("plot.unknown_household", household=args.plot)
    detector = Detector(registry, thresholds)
    step_s = args.step_minutes * 60.0
    chunks = list(windows(batch, step_s))
    with tqdm(total=len(chunks), unit="window", disable=args.no_progress, desc="backtest") as bar:
        alerts = replay(detector, chunks, on_chunk=lambda _: bar.update())
    start, end = float(batch.ts.min()), float(batch.ts.max())
    months = registry.n_households * (end - start) / (30 * 86400.0)
    print(f"{len(batch):,} readings of {registry.n_households} households, {(end - start) / 86400:.1f} days "
          f"({months:.1f} household-months) from {history.source}, thresholds {args.thresholds}")
    opened = [a for a in alerts if a.state.value == "opened"]
    counts: dict[str, int] = {}
    for a in opened:
        name = f"{a.rule} ({a.severity.value}{', ' + '+'.join(a.utilities) if a.rule == 'no_usage' else ''})"
        counts[name] = counts.get(name, 0) + 1
    print(f"{'alerts opened':<44} {'count':>6} {'per household-month':>20}")
    for name, count in sorted(counts.items()):
        print(f"  {name:<42} {count:>6} {count / months if months else float('nan'):>20.3f}")
    if not counts:
        print("  (none)")
    truth_path = args.ground_truth or (history.folder / "ground_truth.csv" if history.folder else None)
    truth = None
    if truth_path is not None and Path(truth_path).exists():
        truth = read_ground_truth(str(truth_path))
        result = score(alerts, truth, registry, start, end + step_s)
        print(f"against {truth_path}: welfare incidents caught {result.caught}/{result.incidents}"
              f" (recall {result.recall:.0%}), median delay {result.median_delay_h:.1f} h, "
              f"false alarms {result.false_alarms} ({result.false_alarms_per_household_month:.2f} per household-month)")
        if result.explained:
            print("  alarms explained by absences, cuts or outages: "
                  + ", ".join(f"{k} {v}" for k, v in sorted(result.explained.items())))
        for missed in result.missed:
            print(f"  MISSED {missed}")
    if args.alerts_out:
        pd.DataFrame([{"household_id": a.household_id, "rule": a.rule, "state": a.state.value,
                       "severity": a.severity.value, "utilities": "+".join(a.utilities),
                       "episode_start": a.key.episode_start, "at": a.at} for a in alerts]).to_csv(args.alerts_out, index=False)
        print(f"alerts written to {args.alerts_out}")
    if args.plot:
        from app.plots import plot_household

        out = args.plot_out or Path(f"backtest-{args.plot}.png")
        plot_household(registry, batch, alerts, args.plot, thresholds, out, args.say, truth)
        print(args.say("backtest.plot_written", household=args.plot, path=out))
    return 0

