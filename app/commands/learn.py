"""`lifesign learn`: suggest per-household thresholds from history, for review.

Reads history (the service's store with ``-c site.yaml``, or a readings file plus a
registry), fits every household's thresholds by the thresholds file's ``learn.method``
(``--method`` overrides it): ``rhythm`` (the default) fits each home's hourly rhythm under
its longest normal silences, ``calibrated`` fits each home to the false-alarm budget of the
``learn:`` section, checked on held-out days. It writes a YAML file of household overrides
with a one-line reason each and changes nothing by itself: an operator reviews the file and
adds ``include: [learned.yaml]`` to thresholds.yaml (the running service then picks it up
at its next reload check).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from app.commands.backtest import add_source_options, load_history
from app.messages import Complaint, Messages
from detectors.learn import LearnSettings, OutcomeRecord, outcome_records
from detectors.thresholds import LEARN_METHODS, Thresholds


def register(sub: Any) -> None:
    p = sub.add_parser("learn", help="suggest per-household thresholds from history (a file to review)")
    add_source_options(p)
    p.add_argument("--thresholds", type=Path, required=True,
                   help="the current thresholds file (time zone, activity, defaults, and its learn: section: "
                        "method, and calibrated's false_alarms_per_month, min_hours, max_hours)")
    p.add_argument("-o", "--out", type=Path, required=True, help="the suggestions file to write")
    defaults = LearnSettings()
    p.add_argument("--method", choices=LEARN_METHODS, default=None,
                   help=f"how to learn (default: the thresholds file's learn.method, else {LEARN_METHODS[0]})")
    p.add_argument("--hours", type=float, default=None,
                   help=f"rhythm: weighted silence that raises the alarm (default {defaults.hours:g})")
    p.add_argument("--margin", type=float, default=None,
                   help="rhythm: every normal silence of the history stays under hours / margin "
                        "(default 1 + 4 / days of history)")
    p.add_argument("--rhythms", type=int, default=defaults.archetypes,
                   help=f"shared rhythm profiles, grouped by k-means (default {defaults.archetypes}; 0: one per home)")
    p.add_argument("--orders", type=Path, default=None,
                   help="orders.sqlite whose recorded outcomes (false alarms, found away) inform the margins "
                        "(default with -c: the service's own, if there)")
    p.set_defaults(handler=_learn)


def _learn(args: argparse.Namespace) -> int:
    from detectors.learn import learn, to_yaml

    say: Messages = args.say
    hours = LearnSettings().hours if args.hours is None else args.hours
    if not hours > 0 or not (args.margin is None or args.margin >= 1) or args.rhythms < 0:
        raise Complaint("learn.bad_numbers", hours=hours, margin=args.margin, rhythms=args.rhythms)
    thresholds = Thresholds.load(args.thresholds)
    method = args.method or thresholds.learn.method
    if method != "rhythm" and (args.hours is not None or args.margin is not None):
        raise Complaint("learn.rhythm_only", thresholds=args.thresholds, method=method)
    history = load_history(args)
    batch = history.readings
    if not len(batch):
        raise Complaint("history.empty", source=history.source)
    days = float(batch.ts.max() - batch.ts.min()) / 86400.0
    # outcomes from before the history says nothing of the rhythm learned from it
    records = _outcome_records(args, since=float(batch.ts.min()))
    settings = LearnSettings(method=method, hours=hours, margin=args.margin, archetypes=args.rhythms)
    suggestions = learn(history.registry, batch, thresholds, settings, records)
    text = to_yaml(suggestions, history.source, days)
    # the file must load as thresholds would include it: a broken suggestion never reaches review
    args.out.write_text(text, encoding="utf-8")
    Thresholds.parse(f"defaults: {{no_usage: {{hours: 12}}}}\ninclude: [{args.out.resolve()}]\n",
                     str(args.out.parent / "check.yaml"))
    skipped = history.registry.n_households - len(suggestions)
    if method == "rhythm":
        print(say("learn.learned", count=len(suggestions), days=days, source=history.source, out=args.out,
                  skipped=say("learn.skipped_short", count=skipped) if skipped else ""))
    else:
        budget = thresholds.learn
        print(say("learn.learned_calibrated", count=len(suggestions), method=method, days=days, source=history.source,
                  skipped=say("learn.skipped_empty", count=skipped) if skipped else "",
                  budget=budget.false_alarms_per_month, min_hours=budget.min_hours, max_hours=budget.max_hours,
                  out=args.out))
    if records:
        print(say("learn.outcomes", false_alarms=sum(r.false_alarms for r in records.values()),
                  away=sum(r.away for r in records.values()), households=len(records)))
    print(say("learn.review", name=args.out.name, thresholds=args.thresholds))
    return 0


def _outcome_records(args: argparse.Namespace, since: float) -> dict[str, OutcomeRecord]:
    from app.site import SiteConfig
    from app.store_wiring import ORDERS_FILE, open_orders_for
    from dispatch.orderstores import SqliteWorkOrderStore
    from dispatch.orderstores.base import DispatchStore

    store: DispatchStore
    if args.orders is not None:
        if not args.orders.exists():
            raise Complaint("learn.no_orders", path=args.orders)
        store = SqliteWorkOrderStore(args.orders)
    elif args.config is not None:  # the orders the service keeps (PostgreSQL, or the data folder's file)
        site = SiteConfig.load(args.config)
        if site.orders.store != "postgres" and not (site.data_dir / ORDERS_FILE).exists():
            return {}
        store = open_orders_for(site, site.data_dir)
    else:
        return {}
    try:
        return outcome_records(store.outcomes(since))
    finally:
        store.close()
