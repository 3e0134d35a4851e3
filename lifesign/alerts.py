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
    NO_USAGE = "no_usage"


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

    @property
    def household_id(self) -> str:
        return self.key.household_id

    @property
    def rule(self) -> str:
        return self.key.rule
