"""`lifesign demo`: the whole pipeline on embedded defaults with a simulated cohort."""

from __future__ import annotations

import argparse
import threading
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    demo = sub.add_parser("demo", help="run the whole pipeline on embedded defaults with a simulated cohort")
    demo.add_argument("--households", type=int, default=120)
    demo.add_argument("--days", type=float, default=4)
    demo.add_argument("--incidents", type=int, default=4)
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--pace", type=float, default=0.03, help="wall seconds per 15-minute round")
    demo.add_argument("--workdir", type=Path, default=None, help="keep the demo's files here")
    demo.add_argument("--quiet-tickets", action="store_true", help="don't print each ticket as it is delivered")
    demo.add_argument("--web-port", type=int, default=0, help="the staff desk's port on 127.0.0.1 (0: a free one)")
    demo.add_argument("--no-web", action="store_true", help="don't serve the staff desk")
    demo.add_argument("--keep-serving", action="store_true",
                      help="after the report, keep the desk (and its links) up until Ctrl-C")
    demo.set_defaults(handler=_demo)


def _demo(args: argparse.Namespace) -> int:
    from app.demo import DemoResult, print_report, run_demo

    print(f"lifesign demo: {args.households} homes, {args.days:g} simulated days, "
          f"{args.incidents} injected incidents, embedded broker", flush=True)
    def hold(result: DemoResult) -> None:
        print_report(result)
        print("\nthe staff desk stays up until Ctrl-C", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass

    result = run_demo(households=args.households, days=args.days, incidents=args.incidents, seed=args.seed,
                      pace_s=args.pace, workdir=args.workdir, console_tickets=not args.quiet_tickets,
                      web_port=None if args.no_web else args.web_port,
                      serve_after=hold if args.keep_serving and not args.no_web else None)
    if not (args.keep_serving and not args.no_web):
        print_report(result)
    return 0 if result.ok else 1
