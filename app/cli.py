"""The `lifesign` command line: discovers one module per subcommand in
:mod:`app.commands`, parses, runs the handler, and turns expected errors
into a one-line message and an exit code (2: bad input or config, 1: I/O)."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import pkgutil
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version

from app import commands
from app.messages import Complaint, Messages, choose_language
from dispatch.ticket_text import LANGUAGES
from lifesign.config.errors import ConfigError

#: the order subcommands appear in `lifesign --help`; others follow alphabetically
_FIRST = ("demo", "run", "status", "orders", "config", "simulate")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    # --log-level wins over a subcommand's default (`run` logs INFO, the others WARNING)
    level = args.log_level_option or getattr(args, "log_level", "WARNING")
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # APScheduler logs two INFO lines per job run: noise in an operator's journal unless debugging
    debugging = logging.getLevelName(level) <= logging.DEBUG
    logging.getLogger("apscheduler").setLevel(logging.NOTSET if debugging else logging.WARNING)
    say = Messages()
    try:
        say = args.say = Messages(choose_language(args))
        return int(args.handler(args))
    except BrokenPipeError:
        # `lifesign ledger export --csv - | head`: the reader has what it wanted. Point stdout at
        # /dev/null so the interpreter's final flush does not complain either.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except ConfigError as exc:  # its file:line and field stay as they are: the place to fix
        print(say("error.config", detail=exc), file=sys.stderr)
        return 2
    except Complaint as exc:
        print(say("error.input", detail=exc.told(say)), file=sys.stderr)
        return 2
    except (LookupError, ValueError) as exc:
        print(say("error.input", detail=exc.args[0] if exc.args else exc), file=sys.stderr)
        return 2
    except OSError as exc:  # broker unreachable, data directory not writable, ...
        print(say("error.io", detail=exc), file=sys.stderr)
        return 1


def _command_modules() -> list[str]:
    names = [m.name for m in pkgutil.iter_modules(commands.__path__) if m.name != "common"]
    return sorted(names, key=lambda n: (_FIRST.index(n) if n in _FIRST else len(_FIRST), n))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lifesign", description="Utility meters as signs of life.")
    parser.add_argument("--version", action="version", version=f"lifesign {_version()}")
    parser.add_argument("--log-level", dest="log_level_option", type=str.upper, default=None,
                        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                        help="log verbosity (default: INFO for `run`, WARNING otherwise)")
    parser.add_argument("--lang", choices=LANGUAGES, default=None,
                        help="the language of messages (default: $LIFESIGN_LANG, else site.yaml's language:, "
                             "else en)")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in _command_modules():
        importlib.import_module(f"{commands.__name__}.{name}").register(sub)
    return parser


def _version() -> str:
    try:
        return version("lifesign")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


if __name__ == "__main__":
    sys.exit(main())
