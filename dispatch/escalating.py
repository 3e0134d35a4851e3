"""Escalate: a periodic job beside the chain. Every unacknowledged order whose deadline
passed moves one level up its chain, and the new holder's tickets are enqueued."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from dispatch.assign import Assigner
from dispatch.delivering import Deliverer
from dispatch.orderstores.base import DispatchStore
from dispatch.orderstores.lifecycle import ACTION_ESCALATED, OrderStateError, escalation_hands
from dispatch.pipeline import watches
from lifesign.clock import Clock
from lifesign.grid import Tier, Worker
from lifesign.registry import Registry
from lifesign.workorders import UNACKNOWLEDGED, WorkOrder

log = logging.getLogger(__name__)
_TIER_VALUES = frozenset(t.value for t in Tier)


class Escalator:
    def __init__(self, store: DispatchStore, registry: Registry, assigner: Assigner, deliverer: Deliverer,
                 clock: Clock, ack_deadline_s: Mapping[Tier, float]) -> None:
        missing = [t.value for t in Tier if t not in ack_deadline_s]
        if missing:
            raise ValueError(
                f"ack_deadline_s must give a deadline for every tier, missing {', '.join(missing)}"
            )
        for tier, seconds in ack_deadline_s.items():
            if not seconds > 0:
                raise ValueError(
                    f"ack_deadline_s[{Tier(tier).value}] must be > 0 seconds, got {seconds!r}"
                )
        self.store = store
        self.registry = registry
        self.assigner = assigner
        self.deliverer = deliverer
        self.clock = clock
        self.ack_deadline_s = {Tier(t): float(s) for t, s in ack_deadline_s.items()}

    def deadline_s(self, order: WorkOrder) -> float:
        if order.tier in _TIER_VALUES:
            return self.ack_deadline_s[Tier(order.tier)]
        return min(self.ack_deadline_s.values())

    def escalate_due(self) -> list[WorkOrder]:
        """Move every unacknowledged order whose deadline passed one level up its chain.

        One level per call: the new assignee gets a full deadline from the moment the
        order reached them, also after a restart that left an order overdue."""
        now = self.clock.now()
        escalated: list[WorkOrder] = []
        for order in self.ours():
            self.deliverer.ensure(order)
            try:
                chain = self.assigner.chain(order.household_id, order.rule, now)
            except LookupError as exc:
                log.error("cannot escalate order %s: %s", order.order_id, exc)
                continue
            # an order at level 0 was never escalated: no ledger read for the common case
            escalations = [] if order.escalation_level == 0 else [
                e for e in self.store.ledger(order.order_id) if e.action == ACTION_ESCALATED]
            held_by = {order.assignee, *(w for e in escalations for w in escalation_hands(e.note))}
            successor_level = next_level(chain, order.escalation_level, held_by)
            if successor_level is None:
                continue  # chain exhausted: the last level keeps it
            deadline = self.deadline_s(order)
            if now < max((e.at for e in escalations), default=order.opened_at) + deadline:
                continue
            successor = chain[successor_level]
            try:
                moved = self.store.escalate(order.order_id, successor_level, successor.worker_id, now,
                                            note=f"not acknowledged within {deadline / 60:g} min",
                                            from_level=order.escalation_level)
            except OrderStateError:
                continue  # acknowledged or escalated by another process meanwhile
            self.deliverer.ensure(moved)
            if not self.deliverer.channels_for(moved.assignee):
                # no phone number in the log (PII): the desk and `orders show` give it to staff
                log.warning("order %s escalated to %s, whom no configured channel reaches: call them "
                            "(number in `lifesign orders show %s`)", moved.order_id, moved.assignee, moved.order_id)
            escalated.append(moved)
        return escalated


    def next_escalation_at(self) -> float:
        """When the earliest unacknowledged order's acknowledgement deadline passes (event
        time; inf when no order waits): the service wakes the escalation then."""
        return min((ack_due_at(order, self.store, self.deadline_s(order)) for order in self.ours()),
                   default=float("inf"))

    def ours(self) -> list[WorkOrder]:
        """The unacknowledged orders of this registry's homes and areas: another partition's
        orders are its instance's to escalate (a home removed from the registry, nobody's)."""
        return [o for o in self.store.list(UNACKNOWLEDGED) if watches(self.registry, o.household_id)]


def ack_due_at(order: WorkOrder, store: DispatchStore, deadline_s: float) -> float:
    """When the order's holder must have acknowledged it: ``deadline_s`` after it reached them
    (opened, or its last escalation)."""
    since = order.opened_at if order.escalation_level == 0 else max(
        (e.at for e in store.ledger(order.order_id) if e.action == ACTION_ESCALATED), default=order.opened_at)
    return since + deadline_s


def next_level(chain: list[Worker], level: int, held_by: set[str]) -> int | None:
    """The level an order at ``level`` escalates to: the next one whose worker has not
    held it yet (a backup who stood in for a lower level is not asked a second time).

    >>> from lifesign.grid import Role
    >>> gl, desk = Worker("gl", "L", Role.GRID_LEADER, ""), Worker("desk", "D", Role.DUTY_DESK, "")
    >>> kin = Worker("contact:H1", "Son", Role.DUTY_DESK, "")
    >>> next_level([gl, gl, desk], 0, {"gl"}), next_level([gl, gl, desk], 2, {"gl", "desk"})
    (2, None)
    >>> next_level([desk, gl, desk, kin], 1, {"desk", "gl"})  # the desk stood in at level 0
    3
    """
    for candidate in range(level + 1, len(chain)):
        if chain[candidate].worker_id not in held_by:
            return candidate
    return None


__all__ = ["Escalator", "ack_due_at", "next_level"]
