"""`lifesign learn`: suggest per-household thresholds from history, for review.

Reads history (the service's store with ``-c site.yaml``, or a readings file plus a
registry), fits every household's thresholds to the false-alarm budget of the thresholds
file's ``learn:`` section (checked on held-out days), and writes a YAML file of household
overrides with a one-line reason each. It changes nothing by itself: an
operator reviews the file and adds ``include: [learned.yaml]`` to thresholds.yaml
(the running service then picks it up at its next reload check).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from app.commands.backtest import add_source_options, load_history
from detectors.learn import LearnSettings, OutcomeRecord, outcome_records
from detectors.thresholds import Thresholds


def register(sub: Any) -> None:
    p = sub.add_parser("learn", help="suggest per-household thresholds from history (a file to review)")
    add_source_options(p)
    p.add_argument("--thresholds", type=Path, required=True,
                   help="the current thresholds file (time zone, activity, defaults, and its learn: section: "
                        "false_alarms_per_month, min_hours, max_hours)")
    p.add_argument("-o", "--out", type=Path, required=True, help="the suggestions file to write")
    defaults = LearnSettings()
    p.add_argument("--rhythms", type=int, default=defaults.archetypes,
                   help=f"shared rhythm profiles, grouped by k-means (default {defaults.archetypes}; 0: one per home)")
    p.add_argument("--orders", type=Path, default=None,
                   help="orders.sqlite whose recorded outcomes (false alarms, found away) inform the margins "
                        "(default with -c: the service's own, if there)")
    p.set_defaults(handler=_learn)


def _learn(args: argparse.Namespace) -> int:
    from detectors.learn import learn, to_yaml

    if args.rhythms < 0:
        raise ValueError(f"--rhythms must be >= 0, got {args.rhythms}")
    history = load_history(args)
    thresholds = Thresholds.load(args.thresholds)
    batch = history.readings
    if not len(batch):
        raise LookupError(f"no readings in {history.source} for the period asked")
    days = float(batch.ts.max() - batch.ts.min()) / 86400.0
    # outcomes from before the history says nothing of the rhythm learned from it
    records = _outcome_records(args, since=float(batch.ts.min()))
    suggestions = learn(history.registry, batch, thresholds,
                        LearnSettings(archetypes=args.rhythms), records)
    text = to_yaml(suggestions, history.source, days)
    # the file must load as thresholds would include it: a broken suggestion never reaches review
    args.out.write_text(text, encoding="utf-8")
    Thresholds.parse(f"defaults: {{no_usage: {{hours: 12}}}}\ninclude: [{args.out.resolve()}]\n",
                     str(args.out.parent / "check.yaml"))
    skipped = history.registry.n_households - len(suggestions)
    budget = thresholds.learn
    print(f"{len(suggestions)} households learned from {days:.0f} days of {history.source}"
          f"{f' ({skipped} without readings left out)' if skipped else ''}, to "
          f"{budget.false_alarms_per_month:g} false alarms per home-month held out, "
          f"{budget.min_hours:g}-{budget.max_hours:g} h; suggestions written to {args.out}")
    if records:
        print(f"outcomes on record: {sum(r.false_alarms for r in records.values())} false alarms, "
              f"{sum(r.away for r in records.values())} found away, in {len(records)} households")
    print(f"review it, then add `include: [{args.out.name}]` to {args.thresholds} to use it")
    return 0


def _outcome_records(args: argparse.Namespace, since: float) -> dict[str, OutcomeRecord]:
    from app.service import ORDERS_FILE
    from app.site import SiteConfig
    from dispatch.orderstores import SqliteWorkOrderStore

    path = args.orders
    if path is None and args.config is not None:
        path = SiteConfig.load(args.config).data_dir / ORDERS_FILE
        if not path.exists():
            return {}
    if path is None:
        return {}
    if not path.exists():
        raise LookupError(f"--orders {path} does not exist")
    store = SqliteWorkOrderStore(path)
    try:
        return outcome_records(store.outcomes(since))
    finally:
        store.close()
