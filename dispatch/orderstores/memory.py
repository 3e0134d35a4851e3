"""A real in-memory order store: the same rules as the SQL ones (:mod:`dispatch.orderstores.sql`),
nothing survives the process; the reference the contract suite holds them to."""

from __future__ import annotations

import builtins
import copy
import threading
from collections.abc import Collection, Sequence
from dataclasses import replace

from dispatch.orderstores.base import Delivery, abandon_note, delivery_note
from dispatch.orderstores.lifecycle import (
    ACTION_DELIVERED,
    ACTION_DELIVERY_ABANDONED,
    ACTION_ESCALATED,
    ACTION_OPENED,
    ACTION_USAGE_RESUMED,
    SYSTEM_ACTOR,
    DeliveryLookupError,
    OrderLookupError,
    apply_escalation,
    apply_transition,
    escalation_note,
    opened_note,
)
from lifesign.alerts import EpisodeKey
from lifesign.workorders import ACTIVE, LedgerEntry, OrderStatus, Outcome, WorkOrder

_DeliveryKey = tuple[int, str, str, int]


class MemoryWorkOrderStore:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._orders: dict[int, WorkOrder] = {}
        self._by_key: dict[EpisodeKey, int] = {}
        self._ledger: list[LedgerEntry] = []
        self._outbox: dict[int, Delivery] = {}
        self._outbox_keys: set[_DeliveryKey] = set()

    # -- orders --------------------------------------------------------------
    def open_order(
        self, key: EpisodeKey, assignee: str, tier: str, at: float, evidence: dict[str, float],
        *, join_active: bool = False,
    ) -> tuple[WorkOrder, bool]:
        with self._lock:
            existing = self._by_key.get(key)
            if existing is not None:
                return self._orders[existing], False
            joined = self.active_for(key.household_id, key.rule) if join_active else None
            if joined is not None:
                return joined, False
            order = WorkOrder(
                order_id=len(self._orders) + 1,
                key=key,
                assignee=assignee,
                tier=tier,
                status=OrderStatus.OPEN,
                opened_at=at,
                evidence={k: float(v) for k, v in evidence.items()},
                responsible=assignee,
            )
            self._orders[order.order_id] = order
            self._by_key[key] = order.order_id
            self._append(order.order_id, at, SYSTEM_ACTOR, ACTION_OPENED, opened_note(assignee))
            return order, True

    def get(self, order_id: int) -> WorkOrder:
        with self._lock:
            try:
                return self._orders[order_id]
            except KeyError:
                raise OrderLookupError(order_id) from None

    def find(self, key: EpisodeKey) -> WorkOrder | None:
        with self._lock:
            order_id = self._by_key.get(key)
            return None if order_id is None else self._orders[order_id]

    def active_for(self, household_id: str, rule: str) -> WorkOrder | None:
        with self._lock:
            for order in self._orders.values():
                if (
                    order.household_id == household_id
                    and order.rule == rule
                    and order.status in ACTIVE
                ):
                    return order
            return None

    def list(self, statuses: frozenset[OrderStatus] | None = None) -> builtins.list[WorkOrder]:
        with self._lock:
            return [o for o in self._orders.values() if statuses is None or o.status in statuses]

    def transition(
        self,
        order_id: int,
        status: OrderStatus,
        at: float,
        actor: str,
        note: str = "",
        outcome: Outcome | None = None,
    ) -> WorkOrder:
        with self._lock:
            order = apply_transition(self.get(order_id), OrderStatus(status), at, outcome)
            self._orders[order_id] = order
            self._append(order_id, at, actor, order.status.value, note)
            return order

    def escalate(
        self, order_id: int, level: int, assignee: str, at: float, note: str = "",
        from_level: int | None = None,
    ) -> WorkOrder:
        with self._lock:
            before = self.get(order_id)
            order = apply_escalation(before, level, assignee, from_level)
            self._orders[order_id] = order
            self._append(
                order_id,
                at,
                SYSTEM_ACTOR,
                ACTION_ESCALATED,
                escalation_note(before.assignee, order, note),
            )
            return order

    def record_usage_resumed(self, order_id: int, at: float) -> WorkOrder:
        with self._lock:
            order = self.get(order_id)
            if order.usage_resumed_at is not None:
                return order
            order = replace(order, usage_resumed_at=at)
            self._orders[order_id] = order
            self._append(order_id, at, SYSTEM_ACTOR, ACTION_USAGE_RESUMED)
            return order

    def ledger(self, order_id: int | None = None) -> builtins.list[LedgerEntry]:
        with self._lock:
            return [e for e in self._ledger if order_id is None or e.order_id == order_id]

    def outcomes(self, since: float = float("-inf")) -> builtins.list[tuple[str, str, str, float]]:
        with self._lock:
            done = [o for o in self._orders.values() if o.outcome is not None and o.resolved_at is not None
                    and o.resolved_at >= since and ":" not in o.household_id]
        return [(o.household_id, o.rule, o.outcome.value, float(o.resolved_at))  # type: ignore[union-attr,arg-type]
                for o in sorted(done, key=lambda o: (o.resolved_at, o.order_id))]

    def close(self) -> None:
        pass

    def _append(self, order_id: int, at: float, actor: str, action: str, note: str = "") -> None:
        self._ledger.append(LedgerEntry(order_id, at, actor, action, note))

    # -- outbox --------------------------------------------------------------
    def enqueue(self, deliveries: Sequence[Delivery], at: float) -> int:
        added = 0
        with self._lock:
            for d in deliveries:
                self.get(d.order_id)  # like the foreign key: no delivery for an unknown order
                key = (d.order_id, d.channel, d.recipient, d.escalation_level)
                if key in self._outbox_keys:
                    continue
                delivery_id = len(self._outbox) + 1
                self._outbox[delivery_id] = Delivery(
                    d.order_id,
                    d.channel,
                    d.recipient,
                    d.escalation_level,
                    copy.deepcopy(d.payload),
                    delivery_id=delivery_id,
                    next_attempt_at=at,
                )
                self._outbox_keys.add(key)
                added += 1
        return added

    def claim_due(
        self, now: float, channels: Collection[str], lease_s: float, limit: int = 100
    ) -> builtins.list[Delivery]:
        with self._lock:
            due = sorted(
                (
                    d
                    for d in self._outbox.values()
                    if d.pending and d.channel in channels and d.next_attempt_at <= now
                ),
                key=lambda d: (d.next_attempt_at, d.delivery_id),
            )[:limit]
            for d in due:
                self._outbox[d.delivery_id] = replace(d, next_attempt_at=now + lease_s)
            return [copy.deepcopy(d) for d in due]

    def mark_delivered(self, delivery_id: int, at: float) -> bool:
        with self._lock:
            d = self._delivery(delivery_id)
            if not d.pending:
                return False
            self._outbox[delivery_id] = replace(
                d, delivered_at=at, attempts=d.attempts + 1, last_error=""
            )
            self._append(d.order_id, at, SYSTEM_ACTOR, ACTION_DELIVERED, delivery_note(d))
            return True

    def retry_later(self, delivery_id: int, next_attempt_at: float, error: str) -> None:
        with self._lock:
            d = self._delivery(delivery_id)
            if d.pending:
                self._outbox[delivery_id] = replace(
                    d, attempts=d.attempts + 1, next_attempt_at=next_attempt_at, last_error=error
                )

    def abandon(self, delivery_id: int, at: float, reason: str) -> None:
        with self._lock:
            d = self._delivery(delivery_id)
            if not d.pending:
                return
            self._outbox[delivery_id] = replace(d, abandoned_at=at, last_error=reason)
            self._append(d.order_id, at, SYSTEM_ACTOR, ACTION_DELIVERY_ABANDONED, abandon_note(d, reason))

    def deliveries(self, order_id: int | None = None) -> builtins.list[Delivery]:
        with self._lock:
            return [
                copy.deepcopy(d)
                for d in self._outbox.values()
                if order_id is None or d.order_id == order_id
            ]

    def _delivery(self, delivery_id: int) -> Delivery:
        try:
            return self._outbox[delivery_id]
        except KeyError:
            raise DeliveryLookupError(delivery_id) from None
