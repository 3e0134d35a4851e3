"""What the desk's pages and API read and change: the service's own stores and clock.

The desk holds no state of its own beyond staff accounts and sessions: orders, ledger
and outbox are the order store's, absences and outages the mute store's, readings the
history store's, open episodes the detector's. Every order change goes through
:mod:`dispatch.actions`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import tzinfo

from app.web.links import OrderLinks
from app.web.staff import StaffAccount, StaffStore
from dispatch import actions
from dispatch.actions import Actor
from dispatch.assign import Assigner
from dispatch.mutes.base import MuteStore
from dispatch.mutes.records import area_of
from dispatch.orderstores.base import DispatchStore
from dispatch.orderstores.lifecycle import ACTION_ESCALATED, escalation_hands
from lifesign.alerts import Alert
from lifesign.clock import Clock, WallClock
from lifesign.registry import Registry
from lifesign.stores import HistoryStore
from lifesign.workorders import WorkOrder

#: the order actions a person can take, by the name the pages and API use
ACTIONS = ("ack", "onsite", "resolve")


@dataclass
class Desk:
    orders: DispatchStore
    mutes: MuteStore
    registry: Registry
    assigner: Assigner
    history: HistoryStore
    #: event time: orders, escalation, link expiry (a manual clock in demos and tests)
    clock: Clock
    links: OrderLinks
    staff: StaffStore
    tz: tzinfo
    #: the detector's open episodes now (silent homes without an order yet)
    open_episodes: Callable[[float], list[Alert]] = field(default=lambda now: [])
    #: sessions and the login throttle run on real time, also beside a simulated clock
    session_clock: Clock = field(default_factory=WallClock)
    secure_cookies: bool = True
    #: how often the operations view fetches its live part again
    poll_s: float = 10.0

    def place(self, order: WorkOrder) -> tuple[str, str]:
        """(community, grid) of an order's household or area."""
        area = area_of(order.household_id)
        if area is not None:
            return self.assigner.area_place(*area)
        i = self.registry.household_index.get(order.household_id)
        if i is None:
            return "", ""
        return str(self.registry.community[i]), str(self.registry.grid[i])

    def sees(self, account: StaffAccount, order: WorkOrder) -> bool:
        return account.sees(*self.place(order))

    def holders(self, order: WorkOrder) -> set[str]:
        """Everyone who held the order: its first worker, each escalation's, the current one.
        A worker's link opens the order only if they are among them."""
        held = {order.responsible, order.assignee}
        if order.escalation_level:
            for entry in self.orders.ledger(order.order_id):
                if entry.action == ACTION_ESCALATED:
                    held.update(escalation_hands(entry.note))
        return held

    def act(self, order_id: int, action: str, actor: Actor, outcome: str | None = None,
            note: str = "") -> WorkOrder:
        """One order step through dispatch.actions, at the service clock's time."""
        now = self.clock.now()
        if action == "ack":
            return actions.acknowledge(self.orders, order_id, actor, now, note)
        if action == "onsite":
            return actions.on_site(self.orders, order_id, actor, now, note)
        if action == "resolve":
            return actions.resolve(self.orders, order_id, actor, now, outcome or None, note)
        raise ValueError(f"action must be one of {', '.join(ACTIONS)}, got {action!r}")


__all__ = ["ACTIONS", "Desk"]
