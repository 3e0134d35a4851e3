"""The benchmark's tables (one per dataset) and its JSON."""

from __future__ import annotations

import math
from typing import Any

from quality.runs import Outcome
from quality.scoring import QualityScore

COLUMNS = (("rule set", 30, "<"), ("recall 24h", 10, ">"), ("light on", 8, ">"), ("light off", 9, ">"),
           ("median", 8, ">"), ("p90", 8, ">"), ("FA/home-mo", 10, ">"), ("absences", 9, ">"),
           ("explained", 9, ">"), ("flow/home-mo", 12, ">"), ("secs", 5, ">"))
LEGEND = ("welfare alarm: no_usage (critical), the fixed rule or continuous_flow (each sends a worker to the door); "
          "recall 24h: incidents with a welfare alarm within 24 h of the start; light on/off: the same "
          "split by whether a load stayed on (independent: a 60 W light; simulator: a light, TV or heater); median/p90: delay from the start to that alarm; "
          "FA/home-mo: welfare alarms on normal living per home-month of it; absences: absences (real "
          "data: visible absences) with a welfare alarm inside, k/n; explained: welfare alarms during "
          "an illness, a building cut, a meter outage, a leak or a filled gap; flow/home-mo: "
          "the continuous_flow part of FA/home-mo")


def _pair(pair: tuple[int, int] | None) -> str:
    return "-" if pair is None else f"{pair[0]}/{pair[1]}"


def _hours(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.2f} h"


def _rate(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.2f}"


def row(name: str, s: QualityScore | None, seconds: float | None) -> str:
    secs = "" if seconds is None else f"{seconds:.0f}"
    if s is None:
        cells = [name, *["n/a"] * (len(COLUMNS) - 2), secs]
    else:
        cells = [name, _pair((s.caught, s.incidents)) if s.incidents else "-", _pair(s.light_on),
                 _pair(s.light_off), _hours(s.median_delay_h), _hours(s.p90_delay_h),
                 _rate(s.false_alarms_per_home_month), _pair((s.absences_alarmed, s.absences)) if s.absences else "-",
                 str(sum(s.explained.values())), _rate(s.flow_alarms_per_home_month), secs]
    return " ".join(f"{c:{align}{width}}" for c, (_, width, align) in zip(cells, COLUMNS, strict=True))


def header() -> str:
    return " ".join(f"{name:{align}{width}}" for name, width, align in COLUMNS)


def table(title: str, outcomes: dict[str, Outcome], pooled: dict[str, QualityScore] | None = None) -> str:
    """Rows named ``rule set`` (or ``rule set | seed``); ``pooled`` adds a row per rule set."""
    lines = [title, header()]
    lines += [row(name, o.score, o.seconds) for name, o in outcomes.items()]
    if pooled:
        lines += [row(f"{name} | all", s, None) for name, s in pooled.items()]
    return "\n".join(lines)


def to_json(s: QualityScore | None, seconds: float) -> dict[str, Any] | None:
    if s is None:
        return None
    out = s.to_dict()
    out["seconds"] = seconds
    # NaN is not JSON
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in out.items()}
