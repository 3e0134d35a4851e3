"""`lifesign absence add|list|end`: a resident away (travel, hospital) mutes their home's
orders within the window; what it muted comes back when it ends, if the home is still silent."""

from __future__ import annotations

import argparse
import re
from datetime import datetime
from typing import Any

from app.commands.common import add_data_dir_options, site_and_data_dir, user, when
from app.messages import Complaint, Messages
from lifesign.clock import DEFAULT_TZ, WallClock

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([mhd])$")


def parse_when(text: str, now: float) -> float:
    """``now``, a local time ``YYYY-MM-DD[ HH:MM]`` (the default site zone, Asia/Shanghai) or an offset from now (``+3d``, ``+12h``)."""
    text = text.strip()
    if text == "now":
        return now
    if text.startswith("+"):
        return now + parse_duration(text[1:])
    try:
        return datetime.fromisoformat(text).replace(tzinfo=DEFAULT_TZ).timestamp()
    except ValueError:
        raise Complaint("time.bad_when", text=text) from None


def parse_duration(text: str) -> float:
    found = _DURATION.match(text.strip())
    if found is None:
        raise Complaint("time.bad_duration", text=text)
    return float(found.group(1)) * {"m": 60.0, "h": 3600.0, "d": 86400.0}[found.group(2)]


def add_window_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--start", default="now", help="'now' (default), '+2h', or 'YYYY-MM-DD[ HH:MM]' local")
    end = p.add_mutually_exclusive_group(required=True)
    end.add_argument("--end", help="'+3d' or 'YYYY-MM-DD[ HH:MM]' local (the window ends just before it)")
    end.add_argument("--for", dest="duration", help="how long from the start, e.g. 3d, 12h")


def window(args: argparse.Namespace, now: float) -> tuple[float, float]:
    start = parse_when(args.start, now)
    end = start + parse_duration(args.duration) if args.duration else parse_when(args.end, now)
    if not end > start:
        raise Complaint("time.end_before_start", start=when(start), end=when(end))
    return start, end


def register(sub: Any) -> None:
    p = sub.add_parser("absence", help="resident absences that mute their home's orders: add, list, end")
    s = p.add_subparsers(dest="absence_command", required=True)
    add = s.add_parser("add", help="record that a resident is away")
    add.add_argument("household_id")
    add.add_argument("--reason", required=True, help="e.g. 'in hospital', 'visiting family'")
    add.add_argument("--by", default=None, help="who records it (default: your user name)")
    add_window_options(add)
    listing = s.add_parser("list", help="list absences")
    listing.add_argument("--household", default=None)
    listing.add_argument("--all", action="store_true", help="include past ones")
    end = s.add_parser("end", help="end an absence now (the resident is back early)")
    end.add_argument("absence_id", type=int)
    for q in (add, listing, end):
        add_data_dir_options(q)
        q.set_defaults(handler=_absence)


def window_state(start: float, end: float, now: float, say: Messages) -> str:
    """now, ended or coming, in words."""
    state = "now" if start <= now < end else ("ended" if end <= now else "coming")
    return say(f"window.{state}")


def _absence(args: argparse.Namespace) -> int:
    from app.store_wiring import open_mutes_for

    say: Messages = args.say
    store = open_mutes_for(*site_and_data_dir(args), create=True)
    assert store is not None  # create=True: opened, or made
    now = WallClock().now()
    try:
        if args.absence_command == "add":
            start, end = window(args, now)
            if args.config is not None:  # with the site's registry at hand, catch a typo in the id
                from app.site import SiteConfig
                from lifesign.registry import Registry

                site = SiteConfig.load(args.config)
                Registry.load(site.households_csv, site.meters_csv).household_by_id(args.household_id)
            absence = store.add_absence(args.household_id, start, end, args.reason, args.by or user(), now)
            print(say("absence.added", id=absence.absence_id, household=absence.household_id, start=when(start),
                      end=when(end), reason=absence.reason))
        elif args.absence_command == "end":
            absence = store.end_absence(args.absence_id, now)
            print(say("absence.ended", id=absence.absence_id, household=absence.household_id,
                      at=when(absence.effective_end)))
        else:
            found = [a for a in store.absences(args.household)
                     if args.all or a.effective_end > now]
            if not found:
                print(say("absence.none" if args.all else "absence.none_current"))
            for a in found:
                print(say("absence.line", id=a.absence_id, household=a.household_id, start=when(a.start),
                          end=when(a.effective_end), state=window_state(a.start, a.effective_end, now, say),
                          by=a.created_by, reason=a.reason))
        return 0
    finally:
        store.close()
