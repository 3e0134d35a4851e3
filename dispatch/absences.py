"""Why an alert should not become a work order right now: absences and planned outages.

An **absence** is a resident away (travelling, in hospital) from ``start`` to ``end``;
an **outage** is a planned cut of one or more utilities for a building, a grid or a
community. Both end by themselves at ``end`` (or earlier, when an operator ends
them); a window covers ``start <= t < end``. They live in a durable store that the
CLI edits while the service runs; ``lifesign learn`` may read absences per household.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from lifesign.grid import Household


class OutageScope(str, Enum):
    BUILDING = "building"
    GRID = "grid"
    COMMUNITY = "community"


class _MuteWindow:
    """What absences and outages share: a window an operator may end early."""

    start: float
    end: float
    ended_at: float | None

    @property
    def effective_end(self) -> float:
        return self.end if self.ended_at is None else min(self.end, self.ended_at)

    def covers(self, at: float) -> bool:
        """
        >>> a = Absence(1, "H1", 100.0, 200.0, "hospital")
        >>> a.covers(99.9), a.covers(100.0), a.covers(199.9), a.covers(200.0)
        (False, True, True, False)
        """
        return self.start <= at < self.effective_end


def check_absence(start: float, end: float) -> None:
    """Refuse an absence that ends before it starts (every store checks the same way)."""
    if not end > start:
        raise ValueError(f"an absence must end after it starts, got start {start!r} and end {end!r}")


def check_outage(start: float, end: float, utilities: tuple[str, ...]) -> None:
    """Refuse an outage that ends before it starts or cuts no utility."""
    if not end > start:
        raise ValueError(f"an outage must end after it starts, got start {start!r} and end {end!r}")
    if not utilities:
        raise ValueError("an outage must name the utilities it cuts (water, electricity, gas)")


@dataclass(frozen=True)
class Absence(_MuteWindow):
    absence_id: int
    household_id: str
    start: float
    end: float
    reason: str
    created_by: str = ""
    created_at: float = 0.0
    #: set when an operator ended it before ``end``
    ended_at: float | None = None


@dataclass(frozen=True)
class Outage(_MuteWindow):
    outage_id: int
    scope: OutageScope
    #: the building, grid or community id (per ``scope``)
    area: str
    utilities: tuple[str, ...]
    start: float
    end: float
    reason: str
    created_by: str = ""
    created_at: float = 0.0
    ended_at: float | None = None

    def applies_to(self, household: Household) -> bool:
        a = household.address
        return self.area == {
            OutageScope.BUILDING: a.building,
            OutageScope.GRID: a.grid,
            OutageScope.COMMUNITY: a.community,
        }[self.scope]


__all__ = ["Absence", "Outage", "OutageScope"]
