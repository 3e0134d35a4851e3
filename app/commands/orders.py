"""`lifesign orders list|show|ack|onsite|resolve`: what staff do with work orders."""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

from app.commands.common import add_data_dir_options, data_dir, user, when
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
    from app.dispatch_wiring import MUTES_FILE, open_mute_store

    folder = data_dir(args)
    if not (folder / MUTES_FILE).exists():
        print("no alert is held or muted")
        return 0
    store = open_mute_store(folder)
    try:
        waiting, storms = store.waiting(), store.storms()
        if not waiting and not storms:
            print("no alert is held or muted")
        for storm in storms:
            print(f"storm #{storm.storm_id} {storm.scope} {storm.area} {storm.rule} "
                  f"{'+'.join(storm.utilities) or 'any'} since {when(storm.opened_at)}: "
                  f"order {storm.order_key.as_text()}")
        for alert in waiting:
            print(f"{alert.fate.value:<6} {alert.key.household_id:<10} {alert.key.rule:<14} "
                  f"{'+'.join(alert.utilities) or '-':<18} seen {when(alert.first_seen)}  {alert.reason}")
        return 0
    finally:
        store.close()


def _orders(args: argparse.Namespace) -> int:
    from app.service import ORDERS_FILE, open_orders_store

    folder = data_dir(args)
    if not (folder / ORDERS_FILE).exists():
        raise LookupError(f"No work-order store in {folder} (expected {folder / ORDERS_FILE})")
    store = open_orders_store(folder)
    now = WallClock().now()
    try:
        command = args.orders_command
        if command == "list":
            orders = store.list(None if args.all else ACTIVE)
            if not orders:
                print("no work orders" if args.all else "no open work orders")
            for order in orders:
                print(order_line(order))
            return 0
        if command == "show":
            order = store.get(args.order_id)
            print(order_line(order))
            print(f"  {_acknowledgement(order, store, args)}")
            for key, value in sorted(order.evidence.items()):
                # durations are stored in seconds, instants as epoch seconds, counts as counts
                shown = (f"{value / 3600:.1f} h" if key.endswith("_s") else
                         f"{value:g}" if key in _PLAIN_NUMBERS else when(value))
                print(f"  {_EVIDENCE_LABELS.get(key, key)}: {shown}")
            for entry in store.ledger(order.order_id):
                print(f"  {when(entry.at)}  {entry.actor:<16} {entry.action:<24} {entry.note}")
            return 0
        # the same functions the desk's pages and API call
        actor = cli_actor(folder, args.as_account)
        if command == "ack":
            order = actions.acknowledge(store, args.order_id, actor, now, args.note)
        elif command == "onsite":
            order = actions.on_site(store, args.order_id, actor, now, args.note)
        else:
            order = actions.resolve(store, args.order_id, actor, now, args.outcome, args.note)
        print(order_line(order))
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
        raise LookupError(f"No staff account by the name of {account!r} (see `lifesign staff list`)")
    return Actor(ActorKind.CLI, me, f"staff:{found.name}")


#: evidence names that read wrong on their own: the detector's deadline is the threshold crossing,
#: not the acknowledgement deadline staff are asked about
_EVIDENCE_LABELS = {"deadline": "threshold crossed"}


def _acknowledgement(order: WorkOrder, store: Any, args: argparse.Namespace) -> str:
    """The deadline by which the holder must acknowledge (then it escalates), from site.yaml's
    dispatch.ack_deadline_minutes (the shipped defaults when only --data-dir is given)."""
    from app.site import DispatchSettings, SiteConfig
    from dispatch.escalating import ack_due_at

    if order.status not in UNACKNOWLEDGED:
        return f"acknowledged: {when(order.acknowledged_at)}"
    settings = SiteConfig.load(args.config).dispatch if args.config is not None else DispatchSettings()
    minutes = {getattr(tier, "value", tier): m for tier, m in settings.ack_deadline_minutes.items()}
    deadline_s = 60.0 * float(minutes.get(order.tier, min(minutes.values())))
    return (f"acknowledge by: {when(ack_due_at(order, store, deadline_s))} "
            f"({deadline_s / 60:g} min for tier {order.tier}; escalates to the next level then)")


#: evidence of infrastructure orders that is neither a time nor a duration
_PLAIN_NUMBERS = frozenset({"homes_silent", "homes_total", "share"})


def order_line(order: WorkOrder) -> str:
    outcome = f" outcome={order.outcome.value}" if order.outcome else ""
    resumed = f" usage-resumed={when(order.usage_resumed_at)}" if order.usage_resumed_at else ""
    return (f"#{order.order_id:<5} {order.household_id:<10} {order.rule:<10} {order.status.value:<12} "
            f"assignee={order.assignee} tier={order.tier} level={order.escalation_level} "
            f"silent-since={when(order.key.episode_start)} opened={when(order.opened_at)}{outcome}{resumed}")
