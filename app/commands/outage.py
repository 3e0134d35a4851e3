"""`lifesign outage add|list|end`: a planned water, power or gas cut for a building, grid or
community mutes the silence it explains (only those utilities, only there, only then)."""

from __future__ import annotations

import argparse
from typing import Any

from app.commands.absence import add_window_options, window, window_state
from app.commands.common import add_data_dir_options, site_and_data_dir, user, when
from app.messages import Messages
from dispatch.absences import OutageScope
from lifesign.clock import WallClock
from lifesign.grid import Utility


def register(sub: Any) -> None:
    p = sub.add_parser("outage", help="planned utility cuts that mute the silence they explain: add, list, end")
    s = p.add_subparsers(dest="outage_command", required=True)
    add = s.add_parser("add", help="record a planned cut")
    add.add_argument("--scope", required=True, choices=[o.value for o in OutageScope])
    add.add_argument("--area", required=True, help="the building, grid or community id")
    add.add_argument("--utility", required=True, action="append", choices=[u.value for u in Utility],
                     help="a utility that is cut (repeat for more)")
    add.add_argument("--reason", required=True)
    add.add_argument("--by", default=None)
    add_window_options(add)
    listing = s.add_parser("list", help="list outages")
    listing.add_argument("--all", action="store_true", help="include past ones")
    end = s.add_parser("end", help="end an outage now (the supply is back)")
    end.add_argument("outage_id", type=int)
    for q in (add, listing, end):
        add_data_dir_options(q)
        q.set_defaults(handler=_outage)


def _outage(args: argparse.Namespace) -> int:
    from app.store_wiring import open_mutes_for

    say: Messages = args.say
    store = open_mutes_for(*site_and_data_dir(args), create=True)
    assert store is not None  # create=True: opened, or made
    now = WallClock().now()
    try:
        if args.outage_command == "add":
            start, end = window(args, now)
            o = store.add_outage(OutageScope(args.scope), args.area, tuple(args.utility), start, end,
                                 args.reason, args.by or user(), now)
            print(say("outage.added", id=o.outage_id, scope=o.scope.value, area=o.area, utilities="+".join(o.utilities),
                      start=when(start), end=when(end), reason=o.reason))
        elif args.outage_command == "end":
            o = store.end_outage(args.outage_id, now)
            print(say("outage.ended", id=o.outage_id, scope=o.scope.value, area=o.area, at=when(o.effective_end)))
        else:
            found = [o for o in store.outages() if args.all or o.effective_end > now]
            if not found:
                print(say("outage.none" if args.all else "outage.none_current"))
            for o in found:
                print(say("outage.line", id=o.outage_id, scope=o.scope.value, area=o.area,
                          utilities="+".join(o.utilities), start=when(o.start), end=when(o.effective_end),
                          state=window_state(o.start, o.effective_end, now, say), by=o.created_by, reason=o.reason))
        return 0
    finally:
        store.close()
