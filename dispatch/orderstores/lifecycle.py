"""The work-order lifecycle, shared by every order store so they all enforce the same rules.

open → notified → acknowledged → onsite → resolved; acknowledged or onsite may go
straight to resolved, and open may go straight to acknowledged (a person who took the
order by phone while the channel was down must be able to say so).
"""

from __future__ import annotations

from dataclasses import replace

from lifesign.workorders import UNACKNOWLEDGED, OrderStatus, Outcome, WorkOrder

ALLOWED_NEXT: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.OPEN: frozenset({OrderStatus.NOTIFIED, OrderStatus.ACKNOWLEDGED}),
    OrderStatus.NOTIFIED: frozenset({OrderStatus.ACKNOWLEDGED}),
    OrderStatus.ACKNOWLEDGED: frozenset({OrderStatus.ONSITE, OrderStatus.RESOLVED}),
    OrderStatus.ONSITE: frozenset({OrderStatus.RESOLVED}),
    OrderStatus.RESOLVED: frozenset(),
}

#: Ledger actions written by the stores (transitions use the new status' value).
ACTION_OPENED = "opened"
ACTION_ESCALATED = "escalated"
ACTION_USAGE_RESUMED = "usage resumed"
ACTION_DELIVERED = "delivered"
ACTION_DELIVERY_ABANDONED = "delivery abandoned"
#: actor of ledger lines the system writes on its own
SYSTEM_ACTOR = "lifesign"

_ORDER = [
    OrderStatus.OPEN,
    OrderStatus.NOTIFIED,
    OrderStatus.ACKNOWLEDGED,
    OrderStatus.ONSITE,
    OrderStatus.RESOLVED,
]


class OrderLookupError(LookupError):
    def __init__(self, order_id: int) -> None:
        self.order_id = order_id
        super().__init__(f"No work order by the id of {order_id!r} was found")


class DeliveryLookupError(LookupError):
    def __init__(self, delivery_id: int) -> None:
        self.delivery_id = delivery_id
        super().__init__(f"No delivery by the id of {delivery_id!r} is in the outbox")


class OrderStateError(ValueError):
    """A change the order's current state does not allow."""


class IllegalTransitionError(OrderStateError):
    def __init__(
        self, order_id: int, from_status: OrderStatus, to_status: OrderStatus, why: str
    ) -> None:
        self.order_id = order_id
        self.from_status = from_status
        self.to_status = to_status
        super().__init__(
            f"Work order {order_id} cannot go from {from_status.value} to {to_status.value}: {why}"
        )


class IllegalEscalationError(OrderStateError):
    def __init__(self, order_id: int, level: int, why: str) -> None:
        self.order_id = order_id
        self.level = level
        super().__init__(f"Work order {order_id} cannot escalate to level {level}: {why}")


def _allowed_text(status: OrderStatus) -> str:
    allowed = sorted(ALLOWED_NEXT[status], key=_ORDER.index)
    if not allowed:
        return f"{status.value} is final"
    return f"from {status.value} it may go to {', '.join(s.value for s in allowed)}"


def apply_transition(
    order: WorkOrder, status: OrderStatus, at: float, outcome: Outcome | None
) -> WorkOrder:
    """The order after a lifecycle step, or IllegalTransitionError naming order and states."""
    if status not in ALLOWED_NEXT[order.status]:
        raise IllegalTransitionError(
            order.order_id, order.status, status, _allowed_text(order.status)
        )
    if status is OrderStatus.RESOLVED:
        if outcome is None:
            raise IllegalTransitionError(
                order.order_id,
                order.status,
                status,
                f"resolving needs an outcome (one of {', '.join(o.value for o in Outcome)})",
            )
        return replace(order, status=status, resolved_at=at, outcome=Outcome(outcome))
    if outcome is not None:
        raise IllegalTransitionError(
            order.order_id,
            order.status,
            status,
            f"an outcome ({Outcome(outcome).value}) is only recorded when resolving",
        )
    if status is OrderStatus.ACKNOWLEDGED:
        return replace(order, status=status, acknowledged_at=at)
    return replace(order, status=status)


def apply_escalation(order: WorkOrder, level: int, assignee: str, from_level: int | None = None) -> WorkOrder:
    """The order moved up its escalation chain, from ``from_level`` (default: the level
    just below ``level``) to ``level``.

    Only while the order is still at ``from_level`` and nobody has acknowledged it: two
    dispatchers racing on the same store cannot both escalate, nor escalate an order a
    person took a moment ago. A jump of several levels passes over levels held by the
    same person (a backup standing in for the level above)."""
    if order.status not in UNACKNOWLEDGED:
        raise IllegalEscalationError(
            order.order_id,
            level,
            f"it is {order.status.value}; escalation applies only to unacknowledged orders",
        )
    expected = level - 1 if from_level is None else from_level
    if order.escalation_level != expected:
        hint = (f"so the next level is {order.escalation_level + 1}" if from_level is None
                else f"not at level {from_level}")
        raise IllegalEscalationError(order.order_id, level, f"it is at level {order.escalation_level}, {hint}")
    if level <= expected:
        raise IllegalEscalationError(order.order_id, level, f"escalation only moves up from level {expected}")
    return replace(order, escalation_level=level, assignee=assignee)


def opened_note(assignee: str) -> str:
    return f"assigned to {assignee}"


def escalation_note(previous: str, order: WorkOrder, note: str) -> str:
    text = f"level {order.escalation_level}: {previous} -> {order.assignee}"
    return f"{text}; {note}" if note else text


def escalation_hands(note: str) -> tuple[str, str]:
    """(previous holder, new holder) of an escalation's ledger note (see :func:`escalation_note`).

    >>> escalation_hands("level 2: gw-night -> gl-li; not acknowledged within 15 min")
    ('gw-night', 'gl-li')
    """
    hands = note.split(";", 1)[0].split(": ", 1)[1]
    previous, _, new = hands.partition(" -> ")
    return previous, new
