"""The `lifesign` command line: discovers one module per subcommand in
:mod:`app.commands`, parses, runs the handler, and turns expected errors
into a one-line message and an exit code (2: bad input or config, 1: I/O)."""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys
from collections.abc import Sequence

from app import commands
from lifesign.config.errors import ConfigError

#: the order subcommands appear in `lifesign --help`; others follow alphabetically
_FIRST = ("demo", "run", "status", "orders", "config", "simulate")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=getattr(args, "log_level", "WARNING"),
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


def _command_modules() -> list[str]:
    names = [m.name for m in pkgutil.iter_modules(commands.__path__) if m.name != "common"]
    return sorted(names, key=lambda n: (_FIRST.index(n) if n in _FIRST else len(_FIRST), n))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lifesign", description="Utility meters as signs of life.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in _command_modules():
        importlib.import_module(f"{commands.__name__}.{name}").register(sub)
    return parser


if __name__ == "__main__":
    sys.exit(main())
