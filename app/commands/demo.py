"""`lifesign demo`: the whole pipeline on embedded defaults with a simulated cohort."""

from __future__ import annotations

import argparse
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
    demo.set_defaults(handler=_demo)


def _demo(args: argparse.Namespace) -> int:
    from app.demo import print_report, run_demo

    print(f"lifesign demo: {args.households} homes, {args.days:g} simulated days, "
          f"{args.incidents} injected incidents, embedded broker", flush=True)
    result = run_demo(households=args.households, days=args.days, incidents=args.incidents, seed=args.seed,
                      pace_s=args.pace, workdir=args.workdir, console_tickets=not args.quiet_tickets)
    print_report(result)
    return 0 if result.ok else 1
