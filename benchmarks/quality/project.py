"""Every import of lifesign's own code the benchmark needs, in one place.

Packages move (``lifesign.app`` -> ``app``, ``lifesign.thresholds`` ->
``detectors.thresholds``): a move is then a one-line fix here. The scorer, the fixed
rule and the absence finder never import this module (they must not share the
detector's code).
"""

from __future__ import annotations

from dataclasses import replace
from importlib import resources

import numpy as np
import numpy.typing as npt

from detectors.backtest import replay, windows
from detectors.detector import Detector
from detectors.learn import LearnSettings, learn
from detectors.thresholds import LEARN_METHODS, Thresholds
from lifesign.alerts import Alert, AlertState, Rule, Severity
from lifesign.grid import UTILITY_CODES, Utility
from lifesign.readings import ReadingBatch
from lifesign.registry import Registry
from simulators.absences import draw_absences
from simulators.cohort import Cohort, make_cohort
from simulators.dataset import ground_truth_rows
from simulators.incidents import draw_incident, leave_loads_on
from simulators.lifestyle import Lifestyle
from simulators.scenario import Scenario, pick_incidents

#: the package that ships ``defaults/thresholds.yaml``
DEFAULTS_PACKAGE = "app"

__all__ = [
    "LEARN_METHODS",
    "UTILITY_CODES",
    "Alert",
    "AlertState",
    "Cohort",
    "Detector",
    "LearnSettings",
    "Lifestyle",
    "ReadingBatch",
    "Registry",
    "Rule",
    "Scenario",
    "Severity",
    "Thresholds",
    "Utility",
    "default_thresholds",
    "draw_absences",
    "draw_incident",
    "ground_truth_rows",
    "learn",
    "leave_loads_on",
    "make_cohort",
    "pick_incidents",
    "replay",
    "water_meters",
    "windows",
]


def default_thresholds(timezone: str | None = None) -> Thresholds:
    """The shipped defaults; ``timezone`` replaces their local-time zone (real homes are in Brussels)."""
    text = resources.files(DEFAULTS_PACKAGE).joinpath("defaults/thresholds.yaml").read_text(encoding="utf-8")
    thresholds = Thresholds.parse(text, "defaults/thresholds.yaml")
    return replace(thresholds, timezone=timezone) if timezone else thresholds


def water_meters(registry: Registry) -> npt.NDArray[np.bool_]:
    """Per meter, whether it measures water."""
    return np.asarray(registry.meter_utility == UTILITY_CODES[Utility.WATER])
