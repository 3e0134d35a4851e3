"""Every third-party package the code imports is declared in pyproject.toml.

Walks every module of the shipped packages (and, for the `test` extra, tests/,
benchmarks/ and scripts/), maps each top-level import to its distribution with
importlib.metadata.packages_distributions(), and fails naming the module, the import
and the distribution missing from [project] dependencies or a feature extra (for
test code, also the `test` extra). A folder under benchmarks/ or scripts/ with a
requirements.txt of its own runs in an environment of its own (a generator that needs
other versions than lifesign's): its imports must be named in that file instead, by the
import name the distribution has (``richardsonpy==0.2.3`` for ``import richardsonpy``; a
distribution whose import name differs, PyYAML's ``yaml``, cannot be listed that way).

    python scripts/check_imports_declared.py
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ("app", "lifesign", "ingest", "detectors", "dispatch", "simulators")
#: test-only code may also use the `test` extra
TEST_ONLY = ("tests", "benchmarks", "scripts")
#: where a folder with a requirements.txt of its own runs in an environment of its own
OWN_ENVIRONMENTS = ("benchmarks", "scripts")


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_names(requirements: list[str]) -> set[str]:
    return {_normalise(re.split(r"[\s<>=!~;\[]", r, maxsplit=1)[0]) for r in requirements}


def _top_level_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _local_names(root: Path) -> set[str]:
    """Modules of this repository (packages and the helper modules the tests import by name)."""
    local = set(SHIPPED)
    for folder in TEST_ONLY:
        local |= {p.stem for p in (root / folder).rglob("*.py")}
        local |= {p.name for p in (root / folder).rglob("*") if p.is_dir()}
    return local


def _own_requirements(path: Path, top: Path) -> Path | None:
    """The requirements.txt of the nearest folder from ``path`` up to ``top`` that has one."""
    for folder in path.parents:
        if folder == top or top not in folder.parents:
            return None
        if (folder / "requirements.txt").is_file():
            return folder / "requirements.txt"
    return None


def _listed(requirements: Path) -> set[str]:
    lines = [line.split("#")[0].strip() for line in requirements.read_text(encoding="utf-8").splitlines()]
    return _requirement_names([line for line in lines if line])


def undeclared_imports(root: Path = ROOT) -> list[str]:
    """One line per import of a distribution that pyproject.toml does not declare."""
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project.get("optional-dependencies", {})
    # shipped code may import an optional extra's package (postgres) where that feature is used
    runtime = _requirement_names(project["dependencies"]) | _requirement_names(
        [r for name, requirements in extras.items() if name != "test" for r in requirements])
    test = runtime | _requirement_names(extras.get("test", []))
    distributions = packages_distributions()
    local = _local_names(root)
    stdlib = set(sys.stdlib_module_names)
    problems = []
    for folder in (*SHIPPED, *TEST_ONLY):
        declared = runtime if folder in SHIPPED else test
        where = "[project] dependencies or a feature extra" if folder in SHIPPED else "any dependency or extra"
        for path in sorted((root / folder).rglob("*.py")):
            # tests run in lifesign's own environment: only tools beside the benchmarks and
            # scripts may bring one of their own
            own = _own_requirements(path, root / folder) if folder in OWN_ENVIRONMENTS else None
            for name in sorted(_top_level_imports(path) - stdlib - local - {"__future__"}):
                if own is not None:
                    if _normalise(name) not in _listed(own):
                        problems.append(f"{path.relative_to(root)}: imports {name!r}, not in {own.relative_to(root)}")
                    continue
                dists = {_normalise(d) for d in distributions.get(name, [])}
                if not dists:
                    problems.append(f"{path.relative_to(root)}: imports {name!r}, which no installed "
                                    f"distribution provides")
                elif not dists & declared:
                    problems.append(f"{path.relative_to(root)}: imports {name!r} from {', '.join(sorted(dists))}, "
                                    f"not in pyproject.toml {where}")
    return problems


def main() -> int:
    problems = undeclared_imports()
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
