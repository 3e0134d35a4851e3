"""What both learning methods share: settings, suggestions, staff outcomes, a home's history.

Kept apart from :mod:`detectors.learn` (the front that picks a method) so the methods can
build on it without importing the front back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo

import numpy as np
import numpy.typing as npt

from detectors.thresholds import Layer, LearnBudget


@dataclass(frozen=True)
class Suggestion:
    household_id: str
    layer: Layer
    reason: str


@dataclass(frozen=True)
class LearnSettings:
    #: "rhythm" or "calibrated"; None: the thresholds file's ``learn.method``
    method: str | None = None
    # -- both methods
    #: group the homes' rhythms into this many shared weight profiles (0: one per home)
    archetypes: int = 32
    seed: int = 0
    #: rhythm: homes with less history are left out; calibrated: they get the population prior
    min_days: float = 7.0
    # -- rhythm
    #: the weighted silence that raises the alarm, for every home (its rhythm sets the weights)
    hours: float = 2.5
    #: every normal silence of the training history must stay under hours / margin; None:
    #: 1 + margin_days / days of history (a short history has seen fewer of its longest silences)
    margin: float | None = None
    margin_days: float = 4.0
    #: the weights a quarter hour may take; hour-to-hour steps at most max_step
    min_weight: float = 0.1
    max_weight: float = 3.0
    max_step: float = 0.75
    max_hours: float = 12.0
    #: what the weights favour: "busy" (hours by their activity rate) or "awake" (every
    #: hour the home is usually up, alike: where an incapacitation can happen)
    objective: str = "awake"
    # -- both: the lamp rule's hours per home (detectors.learning.lamp): the longest time a load
    #: burned through a silence of the history times this, plus lamp_pad_h, rounded up to half
    #: hours, never under lamp_min_hours nor over the configured left_on hours
    lamp_margin: float = 1.25
    lamp_pad_h: float = 0.5
    lamp_min_hours: float = 3.0
    # -- calibrated
    #: the budget and bounds; None: the thresholds file's ``learn:`` section
    budget: LearnBudget | None = None
    #: k of the empirical-Bayes weight n / (n + k): the prior counts as this many days
    prior_days: float = 14.0
    #: the shipped prior counts as this many homes beside the homes being learned
    prior_homes: float = 10.0
    #: folds of each home's days for the held-out check
    folds: int = 5


@dataclass(frozen=True)
class OutcomeRecord:
    """What staff found at a household's door before (resolved orders' outcomes)."""

    false_alarms: int = 0
    away: int = 0


#: each false alarm on record widens a home's margin (rhythm) or scales its threshold
#: (calibrated) by this share, up to MAX_MARGIN_SCALE
FALSE_ALARM_MARGIN = 0.25
MAX_MARGIN_SCALE = 2.0


def outcome_scale(false_alarms: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """How much the false alarms on record widen a home's margin.

    >>> outcome_scale([0, 1, 9]).tolist()
    [1.0, 1.25, 2.0]
    """
    return np.minimum(1.0 + FALSE_ALARM_MARGIN * np.asarray(false_alarms, dtype=float), MAX_MARGIN_SCALE)


def outcome_records(outcomes: list[tuple[str, str, str, float]]) -> dict[str, OutcomeRecord]:
    """Per household, its ``false_alarm`` and ``away`` outcomes of welfare (no_usage) orders.

    >>> outcome_records([("H1", "no_usage", "false_alarm", 0.0), ("H1", "no_usage", "away", 1.0),
    ...                  ("H2", "meter_offline", "false_alarm", 2.0)])
    {'H1': OutcomeRecord(false_alarms=1, away=1)}
    """
    counts: dict[str, list[int]] = {}
    for household_id, rule, outcome, _ in outcomes:
        if rule != "no_usage" or outcome not in ("false_alarm", "away"):
            continue  # a meter fault or a leak says nothing about the home's rhythm
        c = counts.setdefault(household_id, [0, 0])
        c[0 if outcome == "false_alarm" else 1] += 1
    return {h: OutcomeRecord(*c) for h, c in counts.items()}


@dataclass(frozen=True)
class History:
    """What every method learns from."""

    act_h: npt.NDArray[np.int32]       # household of every activity, sorted by household, time
    act_t: npt.NDArray[np.float64]     # its time
    first: npt.NDArray[np.float64]     # per household: its first reading (inf: none)
    last: npt.NDArray[np.float64]      # per household: its last reading (-inf: none)
    tz: tzinfo
    false_alarms: npt.NDArray[np.float64]  # per household: false alarms on record


@dataclass(frozen=True)
class HomeFit:
    """One learned home: its threshold, quarter-hour weights and reason (a method's answer)."""

    household: int                    # household index
    hours: float
    weights: npt.NDArray[np.float64]  # 96 quarter hours
    reason: str
