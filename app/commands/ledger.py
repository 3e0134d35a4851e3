"""`lifesign ledger export --csv FILE [--since T] [--until T]`: every work-order step (who,
when, what, note) and every mute decision, oldest first, as CSV for audits and reports."""

from __future__ import annotations

import argparse
import csv
from datetime import UTC, datetime
from typing import Any

from app.commands.absence import parse_when
from app.commands.common import add_data_dir_options, data_dir, when
from lifesign.clock import WallClock

COLUMNS = ("at_utc", "at_local", "source", "order_id", "household_id", "rule", "episode_start", "actor",
           "action", "note")


def register(sub: Any) -> None:
    p = sub.add_parser("ledger", help="the append-only ledger: export")
    s = p.add_subparsers(dest="ledger_command", required=True)
    export = s.add_parser("export", help="write the ledger as CSV")
    export.add_argument("--csv", required=True, help="the file to write ('-' for standard output)")
    export.add_argument("--since", default=None, help="'YYYY-MM-DD[ HH:MM]' local, or '+/-' offsets like now")
    export.add_argument("--until", default=None, help="lines before this time")
    add_data_dir_options(export)
    export.set_defaults(handler=_export)


def _export(args: argparse.Namespace) -> int:
    from app.dispatch_wiring import MUTES_FILE, open_mute_store
    from app.service import ORDERS_FILE, open_orders_store

    folder = data_dir(args)
    now = WallClock().now()
    since = parse_when(args.since, now) if args.since else float("-inf")
    until = parse_when(args.until, now) if args.until else float("inf")
    if not (folder / ORDERS_FILE).exists():
        raise LookupError(f"No work-order store in {folder} (expected {folder / ORDERS_FILE})")
    rows: list[tuple[float, int, list[Any]]] = []
    orders = open_orders_store(folder)
    try:
        by_id = {o.order_id: o for o in orders.list()}
        for i, e in enumerate(orders.ledger()):
            if since <= e.at < until:
                o = by_id[e.order_id]
                rows.append((e.at, i, ["order", e.order_id, o.household_id, o.rule, o.key.episode_start,
                                       e.actor, e.action, e.note]))
    finally:
        orders.close()
    if (folder / MUTES_FILE).exists():
        mutes = open_mute_store(folder)
        try:
            for i, m in enumerate(mutes.mute_log(None if since == float("-inf") else since,
                                                 None if until == float("inf") else until)):
                rows.append((m.at, 1_000_000_000 + i, ["mute", "", m.household_id, m.rule, m.episode_start,
                                                       "lifesign", m.action, m.note]))
        finally:
            mutes.close()
    rows.sort(key=lambda r: (r[0], r[1]))
    out = open(args.csv, "w", newline="", encoding="utf-8") if args.csv != "-" else None  # noqa: SIM115
    import sys

    stream = out if out is not None else sys.stdout
    try:
        writer = csv.writer(stream)
        writer.writerow(COLUMNS)
        for at, _, rest in rows:
            writer.writerow([datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), when(at),
                             *rest])
    finally:
        if out is not None:
            out.close()
    if out is not None:
        print(f"wrote {len(rows)} ledger lines to {args.csv}")
    return 0
