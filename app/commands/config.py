"""`lifesign config check FILE`: validate a thresholds (or an included learned), roster or site file."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

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
    root = load_yaml(args.file)
    keys = set(root.mapping().keys()) if root.node.tag.endswith(":map") else set()
    if "workers" in keys:
        roster = Roster.from_node(root)
        print(f"{args.file}: ok (roster, {len(roster.workers)} workers)")
    elif keys == {"households"}:
        # a reviewed `lifesign learn` file, included from thresholds.yaml
        print(f"{args.file}: ok (included households, {len(households_file(args.file))} overrides)")
    elif "defaults" in keys or "tiers" in keys or "activity" in keys:
        Thresholds.from_node(root)
        print(f"{args.file}: ok (thresholds)")
    else:
        site = SiteConfig.from_node(root, args.file.resolve().parent)
        from lifesign.registry import Registry
        Registry.load(site.households_csv, site.meters_csv)
        Roster.load(site.roster, site.timezone, site.source)
        Thresholds.load(site.thresholds, site.timezone, site.source)
        print(f"{args.file}: ok (site, with its registry, roster and thresholds)")
    return 0
