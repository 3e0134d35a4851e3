"""`lifesign orders list|show|ack|onsite|resolve`: what staff do with work orders."""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

from app.commands.common import add_data_dir_options, site_and_data_dir, user, when
from app.messages import Complaint, Messages
from dispatch import actions
from dispatch.actions import Actor, ActorKind
from lifesign.clock import WallClock
from lifesign.workorders import ACTIVE, UNACKNOWLEDGED, Outcome, WorkOrder


def register(sub: Any) -> None:
    orders = sub.add_parser("orders", help="work orders: list, show, ack, onsite, resolve, held")
    orders_sub = orders.add_subparsers(dest="orders_command", required=True)
    for name, helptext in [("list", "list work orders"), ("show", "show one order and its ledger"),
                           ("ack", "acknowledge an order"), ("onsite", "record that someone is at the door"),
                           ("resolve", "resolve an order with an outcome")]:
        p = orders_sub.add_parser(name, help=helptext)
        add_data_dir_options(p)
        if name == "list":
            p.add_argument("--all", action="store_true", help="include resolved orders")
        else:
            p.add_argument("order_id", type=int)
        if name in ("ack", "onsite", "resolve"):
            p.add_argument("--as", dest="as_account", default=None, metavar="ACCOUNT",
                           help="a staff account you act for (the ledger records your OS user and it)")
            p.add_argument("--note", default="")
        if name == "resolve":
            p.add_argument("--outcome", required=True, choices=[o.value for o in Outcome])
        p.set_defaults(handler=_orders)
    held = orders_sub.add_parser("held", help="alerts held or muted (absence, outage, storm) and standing storms")
    add_data_dir_options(held)
    held.set_defaults(handler=_held)


def _held(args: argparse.Namespace) -> int:
    from app.store_wiring import open_mutes_for

    say: Messages = args.say
    store = open_mutes_for(*site_and_data_dir(args), create=False)
    if store is None:
        print(say("orders.held_none"))
        return 0
    try:
        waiting, storms = store.waiting(), store.storms()
        if not waiting and not storms:
            print(say("orders.held_none"))
        for storm in storms:
            print(say("orders.storm", id=storm.storm_id, scope=storm.scope, area=storm.area,
                      rule=say.word("rule", storm.rule), utilities="+".join(storm.utilities) or "any",
                      since=when(storm.opened_at), order=storm.order_key.as_text()))
        for alert in waiting:
            print(say("orders.held", fate=alert.fate.value, household=alert.key.household_id,
                      rule=say.word("rule", alert.key.rule), utilities="+".join(alert.utilities) or "-",
                      seen=when(alert.first_seen), reason=alert.reason))
        return 0
    finally:
        store.close()


def _orders(args: argparse.Namespace) -> int:
    from app.store_wiring import open_orders_for

    say: Messages = args.say
    site, folder = site_and_data_dir(args)
    store = open_orders_for(site, folder)
    now = WallClock().now()
    try:
        command = args.orders_command
        if command == "list":
            orders = store.list(None if args.all else ACTIVE)
            if not orders:
                print(say("orders.none" if args.all else "orders.none_open"))
            for order in orders:
                print(order_line(order, say))
            return 0
        if command == "show":
            order = store.get(args.order_id)
            print(order_line(order, say))
            print(f"  {_acknowledgement(order, store, args)}")
            for key, value in sorted(order.evidence.items()):
                # durations are stored in seconds, power in watts, instants as epoch seconds, counts as counts
                shown = (say("orders.hours", hours=value / 3600) if key.endswith("_s") else
                         f"{value:.0f} W" if key.endswith("_w") else
                         f"{value:g}" if key in _PLAIN_NUMBERS else when(value))
                print(say("orders.evidence", label=say.word("evidence", key), value=shown))
            for entry in store.ledger(order.order_id):
                print(say("orders.ledger_line", at=when(entry.at), actor=entry.actor, action=entry.action,
                          note=entry.note))
            return 0
        # the same functions the desk's pages and API call
        actor = cli_actor(folder, args.as_account)
        if command == "ack":
            order = actions.acknowledge(store, args.order_id, actor, now, args.note)
        elif command == "onsite":
            order = actions.on_site(store, args.order_id, actor, now, args.note)
        else:
            order = actions.resolve(store, args.order_id, actor, now, args.outcome, args.note)
        print(order_line(order, say))
        return 0
    finally:
        store.close()


def cli_actor(folder: Path, account: str | None) -> Actor:
    """The operator at the server: their OS user, and the staff account they name (which must exist)."""
    me = re.sub(r"[^A-Za-z0-9_.@+\-]", "_", user())[:64] or "cli"
    if account is None:
        return Actor(ActorKind.CLI, me)
    from app.web_wiring import open_staff_store

    staff = open_staff_store(folder)
    try:
        found = staff.get(account)
    finally:
        staff.close()
    if found is None:
        raise Complaint("orders.no_account", name=account)
    return Actor(ActorKind.CLI, me, f"staff:{found.name}")


def _acknowledgement(order: WorkOrder, store: Any, args: argparse.Namespace) -> str:
    """The deadline by which the holder must acknowledge (then it escalates), from site.yaml's
    dispatch.ack_deadline_minutes (the shipped defaults when only --data-dir is given)."""
    from app.site import DispatchSettings, SiteConfig
    from dispatch.escalating import ack_due_at

    say: Messages = args.say
    if order.status not in UNACKNOWLEDGED:
        return say("orders.acknowledged", at=when(order.acknowledged_at))
    settings = SiteConfig.load(args.config).dispatch if args.config is not None else DispatchSettings()
    minutes = {getattr(tier, "value", tier): m for tier, m in settings.ack_deadline_minutes.items()}
    deadline_s = 60.0 * float(minutes.get(order.tier, min(minutes.values())))
    return say("orders.ack_by", at=when(ack_due_at(order, store, deadline_s)), minutes=deadline_s / 60,
               tier=say.word("tier", str(order.tier)))


#: evidence of infrastructure orders that is neither a time nor a duration
_PLAIN_NUMBERS = frozenset({"homes_silent", "homes_total", "share"})


def order_line(order: WorkOrder, say: Messages) -> str:
    outcome = say("orders.outcome", outcome=say.word("outcome", order.outcome.value)) if order.outcome else ""
    resumed = say("orders.resumed", at=when(order.usage_resumed_at)) if order.usage_resumed_at else ""
    return say("orders.line", id=order.order_id, household=order.household_id, rule=say.word("rule", order.rule),
               status=say.word("status", order.status.value), assignee=order.assignee,
               tier=say.word("tier", str(order.tier)), level=order.escalation_level,
               silent_since=when(order.key.episode_start), opened=when(order.opened_at)) + outcome + resumed
