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
    kind = ("roster" if "workers" in keys else "learned" if keys == {"households"}
            else "thresholds" if keys & {"defaults", "tiers", "activity"} else "site")
    # say what the file was taken for first: an error below reads differently for each kind
    why = {"roster": "it has workers:", "learned": "it has only households:, like `lifesign learn` output",
           "thresholds": "it has defaults:, tiers: or activity:",
           "site": "it has neither workers: (roster) nor defaults:/tiers:/activity: (thresholds)"}[kind]
    print(f"{args.file}: checking as a {kind if kind != 'learned' else 'learned households'} file ({why})", flush=True)
    if kind == "roster":
        roster = Roster.from_node(root)
        print(f"{args.file}: ok (roster, {len(roster.workers)} workers)")
    elif kind == "learned":
        # a reviewed `lifesign learn` file, included from thresholds.yaml
        print(f"{args.file}: ok (included households, {len(households_file(args.file))} overrides)")
    elif kind == "thresholds":
        Thresholds.from_node(root)
        print(f"{args.file}: ok (thresholds)")
    else:
        from app.site_check import check_site
        from lifesign.registry import Registry

        site = SiteConfig.from_node(root, args.file.resolve().parent)
        registry = Registry.load(site.households_csv, site.meters_csv)
        roster = Roster.load(site.roster, site.timezone, site.source)
        thresholds = Thresholds.load(site.thresholds, site.timezone, site.source)
        warnings = check_site(registry, roster, thresholds)  # what `lifesign run` checks at start
        for warning in warnings:
            print(f"warning: {warning}")
        print(f"{args.file}: ok (site, with its registry, roster and thresholds"
              f"{f'; {len(warnings)} warning(s)' if warnings else ''})")
    return 0
