"""`lifesign config check FILE`: validate a thresholds (or an included learned), roster or site file."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from app.messages import Messages
from app.site import SiteConfig
from detectors.thresholds import Thresholds, households_file
from lifesign.config.source import load_yaml
from lifesign.roster import Roster


def register(sub: Any) -> None:
    config = sub.add_parser("config", help="check config files")
    config_sub = config.add_subparsers(dest="config_command", required=True)
    check = config_sub.add_parser("check", help="validate a thresholds, roster or site file")
    check.add_argument("file", type=Path)
    check.set_defaults(handler=_config_check)


def _config_check(args: argparse.Namespace) -> int:
    say: Messages = args.say
    root = load_yaml(args.file)
    keys = set(root.mapping().keys()) if root.node.tag.endswith(":map") else set()
    kind = ("roster" if "workers" in keys else "learned" if keys == {"households"}
            else "thresholds" if keys & {"defaults", "tiers", "activity"} else "site")
    # say what the file was taken for first: an error below reads differently for each kind
    print(say("config.checking", file=args.file, kind=say(f"config.kind.{kind}"), why=say(f"config.why.{kind}")),
          flush=True)
    if kind == "roster":
        roster = Roster.from_node(root)
        print(say("config.ok_roster", file=args.file, workers=len(roster.workers)))
    elif kind == "learned":
        # a reviewed `lifesign learn` file, included from thresholds.yaml
        print(say("config.ok_learned", file=args.file, overrides=len(households_file(args.file))))
    elif kind == "thresholds":
        Thresholds.from_node(root)
        print(say("config.ok_thresholds", file=args.file))
    else:
        from app.site_check import check_site
        from lifesign.registry import Registry

        site = SiteConfig.from_node(root, args.file.resolve().parent)
        registry = Registry.load(site.households_csv, site.meters_csv)
        roster = Roster.load(site.roster, site.timezone, site.source)
        thresholds = Thresholds.load(site.thresholds, site.timezone, site.source)
        warnings = check_site(registry, roster, thresholds, site.partitions)  # what `lifesign run` checks at start
        for warning in warnings:
            print(say("config.warning", warning=warning))
        print(say("config.ok_site_warnings", file=args.file, count=len(warnings)) if warnings
              else say("config.ok_site", file=args.file))
    return 0
