"""What the mute stage keeps: every alert it has seen (held, muted, ordered, cleared),
the standing storms, and an append-only log of each mute decision."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from lifesign.alerts import EpisodeKey


class AlertFate(str, Enum):
    #: waiting (group wait) to see whether its neighbours fall silent too
    HELD = "held"
    #: an absence, an outage or a standing storm explains it; re-evaluated every review
    MUTED = "muted"
    #: handed to dedup/assign: it has (or folded into) a work order
    ORDERED = "ordered"
    #: the detector cleared it before it became an order
    CLEARED = "cleared"


WAITING = frozenset({AlertFate.HELD, AlertFate.MUTED})


@dataclass(frozen=True)
class TrackedAlert:
    key: EpisodeKey
    severity: str
    #: sorted utility names the alert is about; "" joins none
    utilities: tuple[str, ...]
    building: str
    grid: str
    community: str
    alert_at: float
    first_seen: float
    fate: AlertFate
    reason: str = ""
    evidence: dict[str, float] = field(default_factory=dict)

    @property
    def signature(self) -> tuple[str, tuple[str, ...]]:
        """Alerts with the same signature can share one cause (a water cut, a power cut)."""
        return self.key.rule, self.utilities


@dataclass(frozen=True)
class Storm:
    """Many homes of one building or grid silent together: one infrastructure order."""

    storm_id: int
    scope: str  # "building" | "grid"
    area: str
    rule: str
    utilities: tuple[str, ...]
    #: the earliest episode start among the homes that made the storm (from the data)
    episode_start: float
    opened_at: float
    ended_at: float | None = None
    end_reason: str = ""

    @property
    def order_key(self) -> EpisodeKey:
        """The infrastructure order's episode key: exactly-once like any other order."""
        return EpisodeKey(f"{self.scope}:{self.area}", infrastructure_rule(self.rule, self.utilities),
                          self.episode_start)

    def covers(self, alert: TrackedAlert) -> bool:
        area = alert.building if self.scope == "building" else alert.grid
        return area == self.area and alert.signature == (self.rule, self.utilities)


@dataclass(frozen=True)
class MuteLogEntry:
    at: float
    household_id: str
    rule: str
    episode_start: float
    action: str
    note: str = ""


def infrastructure_rule(rule: str, utilities: tuple[str, ...]) -> str:
    """
    >>> infrastructure_rule("no_usage", ("water",)), infrastructure_rule("meter_offline", ())
    ('infrastructure:no_usage:water', 'infrastructure:meter_offline:any')
    """
    return f"infrastructure:{rule}:{'+'.join(utilities) or 'any'}"


def area_of(household_id: str) -> tuple[str, str] | None:
    """The (scope, area) of an infrastructure order's subject, None for a household.

    >>> area_of("building:B003"), area_of("H0001")
    (('building', 'B003'), None)
    """
    scope, sep, area = household_id.partition(":")
    if sep and scope in ("building", "grid") and area:
        return scope, area
    return None
