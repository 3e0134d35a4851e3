from __future__ import annotations


class ConfigError(ValueError):
    """A config or registry file an operator must fix.

    The message names the file, the line (or CSV row), the field and what was
    expected, e.g. ``thresholds.yaml:14: tiers.red.no_usage.hours must be > 0, got -3``.
    """

    def __init__(self, file: str, line: int | None, field: str, problem: str) -> None:
        self.file = file
        self.line = line
        self.field = field
        self.problem = problem
        where = f"{file}:{line}" if line is not None else file
        subject = f" {field}" if field else ""
        super().__init__(f"{where}:{subject} {problem}")
