"""The `lifesign` command line."""

from __future__ import annotations

import argparse
import getpass
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from lifesign.app.demo import LOCAL
from lifesign.clock import WallClock
from lifesign.config.errors import ConfigError
from lifesign.config.source import load_yaml
from lifesign.roster import Roster
from lifesign.site import SiteConfig
from lifesign.thresholds import Thresholds
from lifesign.workorders import ACTIVE, OrderStatus, Outcome, WorkOrder


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.command != "run" else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return int(args.handler(args))
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (LookupError, ValueError) as exc:
        print(f"error: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # broker unreachable, data directory not writable, ...
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lifesign", description="Utility meters as signs of life.")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="run the whole pipeline on embedded defaults with a simulated cohort")
    demo.add_argument("--households", type=int, default=120)
    demo.add_argument("--days", type=float, default=4)
    demo.add_argument("--incidents", type=int, default=4)
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--pace", type=float, default=0.03, help="wall seconds per 15-minute round")
    demo.add_argument("--workdir", type=Path, default=None, help="keep the demo's files here")
    demo.add_argument("--quiet-tickets", action="store_true", help="don't print each ticket as it is delivered")
    demo.set_defaults(handler=_demo)

    run = sub.add_parser("run", help="run the service against an external broker until stopped")
    run.add_argument("-c", "--config", type=Path, required=True)
    run.set_defaults(handler=_run)

    orders = sub.add_parser("orders", help="work orders: list, show, ack, resolve")
    orders_sub = orders.add_subparsers(dest="orders_command", required=True)
    for name, helptext in [("list", "list work orders"), ("show", "show one order and its ledger"),
                           ("ack", "acknowledge an order"), ("onsite", "record that someone is at the door"),
                           ("resolve", "resolve an order with an outcome")]:
        p = orders_sub.add_parser(name, help=helptext)
        where = p.add_mutually_exclusive_group(required=True)
        where.add_argument("-c", "--config", type=Path, help="site.yaml (its data_dir holds the orders)")
        where.add_argument("--data-dir", type=Path, help="the service's data directory")
        if name == "list":
            p.add_argument("--all", action="store_true", help="include resolved orders")
        else:
            p.add_argument("order_id", type=int)
        if name in ("ack", "onsite", "resolve"):
            p.add_argument("--by", default=None, help="who is acting (default: your user name)")
            p.add_argument("--note", default="")
        if name == "resolve":
            p.add_argument("--outcome", required=True, choices=[o.value for o in Outcome])
        p.set_defaults(handler=_orders)

    config = sub.add_parser("config", help="check config files")
    config_sub = config.add_subparsers(dest="config_command", required=True)
    check = config_sub.add_parser("check", help="validate a thresholds, roster or site file")
    check.add_argument("file", type=Path)
    check.set_defaults(handler=_config_check)

    simulate = sub.add_parser("simulate", help="write a simulated dataset with its ground truth")
    simulate.add_argument("--out", type=Path, required=True)
    simulate.add_argument("--households", type=int, default=200)
    simulate.add_argument("--days", type=float, default=7)
    simulate.add_argument("--incidents", type=int, default=5)
    simulate.add_argument("--seed", type=int, default=1)
    simulate.set_defaults(handler=_simulate)
    return parser


def _demo(args: argparse.Namespace) -> int:
    from lifesign.app.demo import print_report, run_demo

    print(f"lifesign demo: {args.households} homes, {args.days:g} simulated days, "
          f"{args.incidents} injected incidents, embedded broker", flush=True)
    result = run_demo(households=args.households, days=args.days, incidents=args.incidents, seed=args.seed,
                      pace_s=args.pace, workdir=args.workdir, console_tickets=not args.quiet_tickets)
    print_report(result)
    return 0 if result.ok else 1


def _run(args: argparse.Namespace) -> int:
    from lifesign.app.service import Service, ServiceParts

    site = SiteConfig.load(args.config)
    service = Service(ServiceParts.from_site(site), WallClock())
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        service.start()
        print(f"lifesign running against {site.broker.host}:{site.broker.port}; Ctrl-C to stop", flush=True)
        stop.wait()
    finally:
        service.stop()
        print("lifesign stopped", flush=True)
    return 0


def _data_dir(args: argparse.Namespace) -> Path:
    if args.data_dir is not None:
        return Path(args.data_dir)
    return SiteConfig.load(args.config).data_dir


def _orders(args: argparse.Namespace) -> int:
    from lifesign.app.service import ORDERS_FILE, open_orders_store

    data_dir = _data_dir(args)
    if not (data_dir / ORDERS_FILE).exists():
        raise LookupError(f"No work-order store in {data_dir} (expected {data_dir / ORDERS_FILE})")
    store = open_orders_store(data_dir)
    actor = getattr(args, "by", None) or _user()
    now = WallClock().now()
    try:
        command = args.orders_command
        if command == "list":
            orders = store.list(None if args.all else ACTIVE)
            if not orders:
                print("no work orders" if args.all else "no open work orders")
            for order in orders:
                print(_order_line(order))
            return 0
        if command == "show":
            order = store.get(args.order_id)
            print(_order_line(order))
            for key, value in sorted(order.evidence.items()):
                # durations are stored in seconds, instants as epoch seconds
                shown = f"{value / 3600:.1f} h" if key.endswith("_s") else _when(value)
                print(f"  {key}: {shown}")
            for entry in store.ledger(order.order_id):
                print(f"  {_when(entry.at)}  {entry.actor:<16} {entry.action:<24} {entry.note}")
            return 0
        if command == "ack":
            order = store.transition(args.order_id, OrderStatus.ACKNOWLEDGED, now, actor, args.note)
        elif command == "onsite":
            order = store.transition(args.order_id, OrderStatus.ONSITE, now, actor, args.note)
        else:
            order = store.transition(args.order_id, OrderStatus.RESOLVED, now, actor, args.note,
                                     Outcome(args.outcome))
        print(_order_line(order))
        return 0
    finally:
        store.close()


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a container user with no name
        return "cli"


def _when(ts: float | None) -> str:
    return "-" if ts is None else datetime.fromtimestamp(ts, LOCAL).strftime("%Y-%m-%d %H:%M")


def _order_line(order: WorkOrder) -> str:
    outcome = f" outcome={order.outcome.value}" if order.outcome else ""
    resumed = f" usage-resumed={_when(order.usage_resumed_at)}" if order.usage_resumed_at else ""
    return (f"#{order.order_id:<5} {order.household_id:<10} {order.rule:<10} {order.status.value:<12} "
            f"assignee={order.assignee} tier={order.tier} level={order.escalation_level} "
            f"silent-since={_when(order.key.episode_start)} opened={_when(order.opened_at)}{outcome}{resumed}")


def _config_check(args: argparse.Namespace) -> int:
    root = load_yaml(args.file)
    keys = set(root.mapping().keys()) if root.node.tag.endswith(":map") else set()
    if "workers" in keys:
        roster = Roster.from_node(root)
        print(f"{args.file}: ok (roster, {len(roster.workers)} workers)")
    elif "defaults" in keys or "tiers" in keys or "activity" in keys:
        Thresholds.from_node(root)
        print(f"{args.file}: ok (thresholds)")
    else:
        site = SiteConfig.from_node(root, args.file.resolve().parent)
        from lifesign.registry import Registry
        Registry.load(site.households_csv, site.meters_csv)
        Roster.load(site.roster)
        Thresholds.load(site.thresholds)
        print(f"{args.file}: ok (site, with its registry, roster and thresholds)")
    return 0


def _simulate(args: argparse.Namespace) -> int:
    from lifesign.app.demo import scenario_start
    from simulators.cohort import make_cohort
    from simulators.scenario import Scenario, pick_incidents, write_dataset

    cohort = make_cohort(args.households, args.seed)
    start = scenario_start(args.days)
    incidents = pick_incidents(cohort, args.incidents, start, args.days, args.seed)
    write_dataset(Scenario(cohort, start=start, days=args.days, incidents=incidents, seed=args.seed), args.out)
    print(f"wrote {args.out} ({args.households} homes, {args.days:g} days, {len(incidents)} incidents)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
