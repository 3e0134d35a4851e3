"""The examples in docstrings are run, so they stay true (river's practice)."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _has_runnable_example(path: Path) -> bool:
    return any(">>>" in line and "+SKIP" not in line for line in path.read_text(encoding="utf-8").splitlines())


PACKAGES = ("app", "lifesign", "ingest", "detectors", "dispatch", "simulators")
MODULES = sorted(
    ".".join(path.relative_to(ROOT).with_suffix("").parts)
    for package in PACKAGES
    for path in (ROOT / package).rglob("*.py")
    if _has_runnable_example(path)
)


def test_some_modules_carry_examples() -> None:
    assert len(MODULES) >= 10, MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_hold(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name}: no example ran"
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed"
