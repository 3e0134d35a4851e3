"""Work orders: an alert turned into a job for a person, and its ledger."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from lifesign.alerts import EpisodeKey


class OrderStatus(str, Enum):
    OPEN = "open"  # created, not yet confirmed delivered
    NOTIFIED = "notified"  # a channel confirmed delivery
    ACKNOWLEDGED = "acknowledged"  # a person took it
    ONSITE = "onsite"  # someone is at the door
    RESOLVED = "resolved"  # closed with an outcome


#: States in which nobody has taken responsibility yet: escalation applies.
UNACKNOWLEDGED = frozenset({OrderStatus.OPEN, OrderStatus.NOTIFIED})
ACTIVE = frozenset({OrderStatus.OPEN, OrderStatus.NOTIFIED, OrderStatus.ACKNOWLEDGED, OrderStatus.ONSITE})


class Outcome(str, Enum):
    RESIDENT_FINE = "resident_fine"
    ASSISTED = "assisted"
    HOSPITALISED = "hospitalised"
    AWAY = "away"
    METER_FAULT = "meter_fault"
    FALSE_ALARM = "false_alarm"


@dataclass(frozen=True)
class WorkOrder:
    order_id: int
    key: EpisodeKey
    assignee: str
    tier: str
    status: OrderStatus
    opened_at: float
    escalation_level: int = 0
    acknowledged_at: float | None = None
    resolved_at: float | None = None
    outcome: Outcome | None = None
    usage_resumed_at: float | None = None
    evidence: dict[str, float] = field(default_factory=dict)
    #: the worker who covers the household and got the order first (escalation level 0);
    #: ``assignee`` is whoever holds it now
    responsible: str = ""

    @property
    def household_id(self) -> str:
        return self.key.household_id

    @property
    def rule(self) -> str:
        return self.key.rule


@dataclass(frozen=True)
class LedgerEntry:
    """One append-only line of what happened to an order: who, when, what, note."""

    order_id: int
    at: float
    actor: str
    action: str
    note: str = ""
