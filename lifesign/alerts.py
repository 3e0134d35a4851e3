"""Alerts: what a detector says about a household, with its evidence.

An alert belongs to an episode keyed by (household, rule, episode start). The
episode start comes from the data (the household's last activity), never from
when a sweep happened to run, so a replay or a restart yields the same key and
dispatch can make work orders exactly-once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Rule(str, Enum):
    #: every sign of life in the home stopped (confirmed by readings): a welfare visit
    NO_USAGE = "no_usage"
    #: no readings at all: a maintenance job, never a welfare visit
    METER_OFFLINE = "meter_offline"
    #: the same interval usage repeated for hours (a stuck pulse counter, filled gaps): maintenance
    METER_STUCK = "meter_stuck"
    #: water flowing in every interval for too long (tap left on, a fall in the shower, a leak)
    CONTINUOUS_FLOW = "continuous_flow"
    #: "less than max_m3 of water in hours" (today's programmes' rule, when an operator runs it)
    LOW_VOLUME = "low_volume"
    #: daily usage far above the home's norm
    ABNORMAL_HIGH = "abnormal_high"


class Severity(str, Enum):
    """How urgent: dispatch picks deadlines and wording from it."""

    WARNING = "warning"
    CRITICAL = "critical"


class AlertState(str, Enum):
    OPENED = "opened"
    CLEARED = "cleared"


@dataclass(frozen=True, order=True)
class EpisodeKey:
    household_id: str
    rule: str
    #: epoch seconds; for no_usage, the household's last activity (or first reading)
    episode_start: float

    def as_text(self) -> str:
        return f"{self.household_id}/{self.rule}/{int(self.episode_start)}"


@dataclass(frozen=True)
class Alert:
    key: EpisodeKey
    state: AlertState
    #: event time at which the detector decided
    at: float
    #: numbers a person needs to judge the alert: last activity per utility (epoch s),
    #: confirmed silence and threshold (s), last reading time (epoch s)
    evidence: dict[str, float] = field(default_factory=dict)
    severity: Severity = Severity.CRITICAL
    #: the utilities the alert is about (the silent ones for no_usage, the offline
    #: meters' utilities for meter_offline, water for continuous_flow), e.g. ("water",)
    utilities: tuple[str, ...] = ()

    @property
    def household_id(self) -> str:
        return self.key.household_id

    @property
    def rule(self) -> str:
        return self.key.rule
