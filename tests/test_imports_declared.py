"""scripts/check_imports_declared.py finds an import whose distribution pyproject.toml
does not declare (a checker that passes everything would prove nothing)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "check_imports_declared.py"


def checker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_imports_declared", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def project(root: Path, dependencies: list[str], test: list[str]) -> Path:
    (root / "pyproject.toml").write_text(
        f"[project]\nname = 'x'\ndependencies = {dependencies!r}\n"
        f"[project.optional-dependencies]\ntest = {test!r}\n")
    (root / "detectors").mkdir()
    (root / "detectors" / "fit.py").write_text("import json\nimport numpy as np\nfrom scipy.optimize import linprog\n")
    (root / "tests").mkdir()
    (root / "tests" / "test_fit.py").write_text("import pytest\nimport numpy\nfrom helper import thing\n")
    (root / "tests" / "helper.py").write_text("thing = 1\n")
    return root


def test_an_undeclared_runtime_import_is_named_with_its_module_and_distribution(tmp_path: Path) -> None:
    problems = checker().undeclared_imports(project(tmp_path, ["numpy>=1.26"], ["pytest>=8"]))
    assert problems == ["detectors/fit.py: imports 'scipy' from scipy, not in pyproject.toml [project] dependencies or a feature extra"]


def test_a_test_only_package_counts_only_for_test_code(tmp_path: Path) -> None:
    root = project(tmp_path, ["numpy>=1.26", "scipy"], ["pytest>=8"])
    assert checker().undeclared_imports(root) == []
    (root / "detectors" / "fit.py").write_text("import pytest\n")
    assert checker().undeclared_imports(root) == [
        "detectors/fit.py: imports 'pytest' from pytest, not in pyproject.toml [project] dependencies or a feature extra"]



def test_a_folder_with_its_own_requirements_is_checked_against_them(tmp_path: Path) -> None:
    # a generator that runs in an environment of its own, on packages lifesign does not install
    root = project(tmp_path, ["numpy>=1.26", "scipy"], ["pytest>=8"])
    tool = root / "benchmarks" / "cohort"
    tool.mkdir(parents=True)
    (tool / "make.py").write_text("import numpy\nimport richardsonpy.classes\nfrom pysimdeum.core import house\n")
    (tool / "requirements.txt").write_text("# its own environment\nrichardsonpy==0.2.3\nnumpy==1.26.4  # old\n")
    assert checker().undeclared_imports(root) == [("benchmarks/cohort/make.py: imports 'pysimdeum', not in "
                                                  "benchmarks/cohort/requirements.txt")]
    (tool / "requirements.txt").write_text("richardsonpy==0.2.3\nnumpy==1.26.4\npysimdeum==1.0.1\n")
    assert checker().undeclared_imports(root) == []


def test_a_requirements_file_among_the_tests_declares_nothing(tmp_path: Path) -> None:
    # the tests run in lifesign's environment: a stray requirements.txt there must not hide an import
    root = project(tmp_path, ["numpy>=1.26"], ["pytest>=8"])
    (root / "detectors" / "fit.py").write_text("import numpy\n")
    (root / "tests" / "fixtures").mkdir()
    (root / "tests" / "fixtures" / "requirements.txt").write_text("scipy\n")
    (root / "tests" / "fixtures" / "use.py").write_text("import scipy\n")
    assert checker().undeclared_imports(root) == [
        "tests/fixtures/use.py: imports 'scipy' from scipy, not in pyproject.toml any dependency or extra"]
