"""The import contract in pyproject.toml holds, and would catch a forbidden import."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import grimp  # import-linter's own graph builder
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("app", "lifesign", "ingest", "detectors", "dispatch", "simulators")
CONTRACT = "Three floors: app over independent stages over the vocabulary"


def lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("lint-imports")
    return subprocess.run([str(exe), "--config", str(cwd / "pyproject.toml"), "--no-cache"], check=False, cwd=cwd,
                          capture_output=True, text=True, env={"PYTHONPATH": str(cwd), "PATH": "/usr/bin:/bin"})


def copy_tree(dest: Path) -> None:
    for package in PACKAGES:
        shutil.copytree(ROOT / package, dest / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", dest / "pyproject.toml")


def test_the_contracts_are_kept(tmp_path: Path) -> None:
    copy_tree(tmp_path)
    result = lint_imports(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 1 kept, 0 broken." in result.stdout


@pytest.mark.parametrize(
    ("module", "statement"),
    [
        ("ingest/__init__.py", "import detectors.detector"),  # a stage imports another stage
        ("dispatch/ticket.py", "import simulators.cohort"),  # ... and another pair of them
        ("simulators/__init__.py", "import app.service"),  # a stage imports the app
        ("lifesign/readings.py", "import dispatch"),  # the vocabulary imports a stage
        ("lifesign/grid.py", "import app.cli"),  # the vocabulary imports the app
    ],
)
def test_a_forbidden_import_breaks_the_contract(tmp_path: Path, module: str, statement: str) -> None:
    copy_tree(tmp_path)
    target = tmp_path / module
    target.write_text(target.read_text() + f"\n{statement}  # deliberate violation\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert f"{CONTRACT} BROKEN" in result.stdout, result.stdout


def import_cycles(imports: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of modules (Tarjan), each a circle of imports."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in sorted(imports[module]):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1 or module in imports[module]:
                cycles.append(sorted(group))

    for module in sorted(imports):
        if module not in index:
            visit(module)
    return cycles


def test_the_cycle_finder_finds_a_circle() -> None:
    # a finder that returns nothing would pass every tree (STYLE.md: test the helpers too)
    assert import_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert import_cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles() -> None:
    # Counts every import grimp sees, also those only under TYPE_CHECKING and inside
    # functions: a circle hidden that way is still two modules that cannot be read apart.
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    imports = {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    assert import_cycles(imports) == []
