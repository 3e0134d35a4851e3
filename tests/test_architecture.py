"""The import contracts in pyproject.toml hold, and would catch a forbidden import."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("lifesign", "ingest", "detectors", "dispatch", "simulators")


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
    assert "Contracts: 4 kept, 0 broken." in result.stdout


@pytest.mark.parametrize(
    ("module", "statement", "contract"),
    [
        ("ingest/__init__.py", "import detectors.detector", "Stages are independent of each other"),
        ("simulators/__init__.py", "import lifesign.app.service", "Stages never import the composition root"),
        ("lifesign/readings.py", "import dispatch", "The vocabulary imports no stage"),
        ("lifesign/grid.py", "import lifesign.app.cli", "The vocabulary never imports the composition root"),
    ],
)
def test_a_forbidden_import_breaks_its_contract(tmp_path: Path, module: str, statement: str, contract: str) -> None:
    copy_tree(tmp_path)
    target = tmp_path / module
    target.write_text(target.read_text() + f"\n{statement}  # deliberate violation\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert f"{contract} BROKEN" in result.stdout, result.stdout
