"""`lifesign ledger export --csv FILE [--since T] [--until T]`: every work-order step (who,
when, what, note) and every mute decision, oldest first, as CSV for audits and reports."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from app.commands.absence import parse_when
from app.commands.common import add_data_dir_options, site_and_data_dir
from app.ledger_csv import ledger_rows, write_ledger_csv
from lifesign.clock import DEFAULT_TZ, WallClock


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
    from app.store_wiring import open_mutes_for, open_orders_for

    site, folder = site_and_data_dir(args)
    now = WallClock().now()
    since = parse_when(args.since, now) if args.since else float("-inf")
    until = parse_when(args.until, now) if args.until else float("inf")
    orders = open_orders_for(site, folder)
    try:
        mutes = open_mutes_for(site, folder, create=False)
    except BaseException:
        orders.close()
        raise
    try:
        rows = ledger_rows(orders, mutes, since, until)
    finally:
        orders.close()
        if mutes is not None:
            mutes.close()
    out = open(args.csv, "w", newline="", encoding="utf-8") if args.csv != "-" else None  # noqa: SIM115
    try:
        write_ledger_csv(out if out is not None else sys.stdout, rows, DEFAULT_TZ)
    finally:
        if out is not None:
            out.close()
    if out is not None:
        print(args.say("ledger.written", count=len(rows), file=args.csv))
    return 0
