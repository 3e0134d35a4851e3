"""Helpers shared by the subcommands: where the data lives, who acts, how times print."""

from __future__ import annotations

import argparse
import getpass
from datetime import datetime
from pathlib import Path

from app.site import SiteConfig
from lifesign.clock import DEFAULT_TZ


def add_data_dir_options(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("-c", "--config", type=Path, help="site.yaml (its data_dir holds the service's files)")
    where.add_argument("--data-dir", type=Path, help="the service's data directory")


def data_dir(args: argparse.Namespace) -> Path:
    if args.data_dir is not None:
        return Path(args.data_dir)
    return SiteConfig.load(args.config).data_dir


def site_and_data_dir(args: argparse.Namespace) -> tuple[SiteConfig | None, Path]:
    """site.yaml (None with --data-dir alone) and the data folder: the stores a command opens
    are the ones the service runs on (site.yaml's ``orders:``, PostgreSQL or SQLite)."""
    if args.data_dir is not None:
        return None, Path(args.data_dir)
    site = SiteConfig.load(args.config)
    return site, site.data_dir


def user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a container user with no name
        return "cli"


def when(ts: float | None) -> str:
    return "-" if ts is None else datetime.fromtimestamp(ts, DEFAULT_TZ).strftime("%Y-%m-%d %H:%M")


def clock_time(ts: float) -> str:
    """To the second, for leases measured in seconds."""
    return datetime.fromtimestamp(ts, DEFAULT_TZ).strftime("%Y-%m-%d %H:%M:%S")
