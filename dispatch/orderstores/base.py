"""What dispatch needs from an order store beyond :class:`lifesign.stores.WorkOrderStore`:
an outbox of deliveries, kept in the same store so an order and its deliveries
survive a restart together.

A delivery is one ticket for one recipient on one channel at one escalation level;
that 4-tuple is unique, so enqueueing twice is harmless. A delivery is marked done
only after the channel confirmed it, and never delivered again once marked.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from lifesign.stores import WorkOrderStore


@dataclass(frozen=True)
class Delivery:
    order_id: int
    channel: str
    recipient: str
    escalation_level: int
    #: the rendered ticket (JSON-able), frozen at enqueue time so a retry sends the same thing
    payload: dict[str, Any] = field(default_factory=dict)
    delivery_id: int = 0
    attempts: int = 0
    next_attempt_at: float = 0.0
    delivered_at: float | None = None
    #: set when delivery was given up (non-recoverable failure, order already resolved)
    abandoned_at: float | None = None
    last_error: str = ""

    @property
    def pending(self) -> bool:
        return self.delivered_at is None and self.abandoned_at is None


def delivery_note(delivery: Delivery) -> str:
    """How a delivery reads in the ledger."""
    return f"{delivery.channel} to {delivery.recipient} (level {delivery.escalation_level})"


def abandon_note(delivery: Delivery, reason: str) -> str:
    return f"{delivery_note(delivery)}: {reason}"


class OutboxStore(Protocol):
    def enqueue(self, deliveries: Sequence[Delivery], at: float) -> int:
        """Add deliveries due at ``at``; ones already present (same order, channel,
        recipient, level) are left as they are. Returns how many were new."""
        ...

    def claim_due(
        self, now: float, channels: Collection[str], lease_s: float, limit: int = 100
    ) -> list[Delivery]:
        """Pending deliveries on these channels due at ``now``, oldest first.

        Each is leased (pushed ``lease_s`` into the future) in the same transaction, so
        a second dispatcher on the same store does not send it at the same time; if
        the claimer dies mid-send, the lease runs out and the delivery is tried again."""
        ...

    def mark_delivered(self, delivery_id: int, at: float) -> bool:
        """Record the channel's confirmation and write a ledger line.

        Returns False (and changes nothing) if it was already delivered or abandoned."""
        ...

    def retry_later(self, delivery_id: int, next_attempt_at: float, error: str) -> None:
        """Count a failed attempt and set when to try again."""
        ...

    def abandon(self, delivery_id: int, at: float, reason: str) -> None:
        """Give up on a pending delivery and write a ledger line saying why."""
        ...

    def deliveries(self, order_id: int | None = None) -> list[Delivery]:
        """All deliveries (of one order), in the order they were enqueued."""
        ...


class DispatchStore(WorkOrderStore, OutboxStore, Protocol):
    """The order store the dispatcher runs on: orders, ledger and outbox in one place."""
