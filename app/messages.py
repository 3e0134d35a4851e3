"""The language the `lifesign` command speaks, and its messages in that language.

The language is, first to last: ``--lang``, the ``LIFESIGN_LANG`` environment variable,
``language:`` of the site.yaml the command was given (``-c``, or the file
``config check`` checks), else English, the default of tickets too. The words are in
:mod:`app.cli_catalogue`.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from pathlib import Path

import yaml

from app.cli_catalogue import CATALOGUE
from dispatch.ticket_text import LANGUAGES

DEFAULT_LANGUAGE = "en"
ENV_VARIABLE = "LIFESIGN_LANG"


class Messages:
    """The CLI's words in one language: ``say("orders.none")``, ``say("absence.ended", id=3, ...)``.

    >>> Messages("zh-CN")("orders.none"), Messages("en")("time.bad_duration", text="3 days")[:22]
    ('没有工单', 'a duration must be a n')
    """

    def __init__(self, language: str = DEFAULT_LANGUAGE) -> None:
        if language not in LANGUAGES:
            raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, got {language!r}")
        self.language = language

    def __call__(self, key: str, **values: object) -> str:
        return CATALOGUE[key][self.language].format(**values)

    def word(self, family: str, name: str) -> str:
        """A field's value in words (``word("status", "notified")``); a value with no entry shows itself."""
        entry = CATALOGUE.get(f"{family}.{name}")
        return name if entry is None else entry[self.language]


class Complaint(ValueError):
    """Bad input the CLI explains in the operator's language (exit 2). Its ``str`` is the
    English text, so code that is not the CLI reads it as any ValueError."""

    def __init__(self, key: str, **values: object) -> None:
        self.key, self.values = key, values
        super().__init__(Messages()(key, **values))

    def told(self, say: Messages) -> str:
        return say(self.key, **self.values)


def choose_language(args: argparse.Namespace, environ: Mapping[str, str] = os.environ) -> str:
    """The language of this command line (see the module docstring)."""
    if getattr(args, "lang", None):
        return str(args.lang)
    chosen = environ.get(ENV_VARIABLE, "").strip()
    if chosen:
        if chosen not in LANGUAGES:
            raise Complaint("error.lang_env", choices=", ".join(LANGUAGES), value=chosen)
        return chosen
    for site in (getattr(args, "config", None), getattr(args, "file", None)):  # -c, or `config check FILE`
        if site is not None and (language := site_language(Path(site))) is not None:
            return language
    return DEFAULT_LANGUAGE


def site_language(path: Path) -> str | None:
    """``language:`` of a site file, or None if it names none or cannot be read: the command
    itself then reports the file's problem, with its file and line."""
    try:
        root = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    language = root.get("language") if isinstance(root, dict) else None
    return language if language in LANGUAGES else None


__all__ = ["DEFAULT_LANGUAGE", "ENV_VARIABLE", "Complaint", "Messages", "choose_language", "site_language"]
