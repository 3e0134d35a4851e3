"""Alerts in, work orders out: dedup → assign → deliver → escalate.

The dispatcher holds no state of its own: orders, ledger and outbox live in the
store, so a new Dispatcher over the same store file carries on exactly where the
last one stopped (no order opened twice, no escalation skipped or repeated, no
confirmed delivery sent again). Every time comes from the Clock (event time).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from dispatch.channels.base import Channel, DeliveryError
from dispatch.orderstores.base import Delivery, DispatchStore
from dispatch.orderstores.lifecycle import ACTION_ESCALATED, OrderStateError
from dispatch.ticket import render_ticket
from lifesign.alerts import Alert, AlertState
from lifesign.clock import Clock
from lifesign.grid import Household, Tier
from lifesign.registry import Registry
from lifesign.roster import Roster
from lifesign.workorders import ACTIVE, UNACKNOWLEDGED, OrderStatus, Outcome, WorkOrder

log = logging.getLogger(__name__)

#: assignee of an order nobody in the roster covers: it stays visible in the store and the log
UNASSIGNED = "(unassigned)"
ACTOR = "lifesign"


class Dispatcher:
    """Run ``handle``, ``deliver_pending`` and ``escalate_due`` from one thread (the
    service's dispatch loop); ``ack``, ``onsite`` and ``resolve`` are safe from any
    thread or from another process on the same store."""

    def __init__(
        self,
        store: DispatchStore,
        registry: Registry,
        roster: Roster,
        channels: Sequence[Channel],
        clock: Clock,
        ack_deadline_s: Mapping[Tier, float],
        *,
        tz_offset_hours: float = 8.0,
        retry_base_s: float = 10.0,
        retry_max_s: float = 600.0,
        claim_lease_s: float = 120.0,
    ) -> None:
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
        names = [c.name for c in channels]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ValueError(
                f"channel names must be unique, got {', '.join(duplicated)} more than once"
            )
        if not 0 < retry_base_s <= retry_max_s:
            raise ValueError(
                "retry_base_s must be > 0 and <= retry_max_s, "
                f"got {retry_base_s!r} and {retry_max_s!r}"
            )
        self.store = store
        self.registry = registry
        self.roster = roster
        self.channels = {c.name: c for c in channels}
        self.clock = clock
        self.ack_deadline_s = {Tier(t): float(s) for t, s in ack_deadline_s.items()}
        self.tz_offset_hours = tz_offset_hours
        self.retry_base_s = retry_base_s
        self.retry_max_s = retry_max_s
        self.claim_lease_s = claim_lease_s

    # -- alerts ----------------------------------------------------------------
    def handle(self, alerts: Sequence[Alert]) -> list[WorkOrder]:
        """Turn alerts into orders; returns the orders newly created by this call."""
        created: list[WorkOrder] = []
        for alert in alerts:
            if alert.state is AlertState.OPENED:
                order = self._open(alert)
                if order is not None:
                    created.append(order)
            elif alert.state is AlertState.CLEARED:
                self._usage_resumed(alert)
        return created

    def _open(self, alert: Alert) -> WorkOrder | None:
        household = self._household(alert.household_id)
        if household is None:
            return None
        same_episode = self.store.find(alert.key)
        if same_episode is not None:
            # A repeated alert (detector restart, replay). Re-enqueueing is a no-op unless a
            # crash came between opening the order and enqueueing its deliveries.
            if same_episode.status in ACTIVE:
                self._ensure_deliveries(same_episode, household)
            return None
        if self.store.active_for(alert.household_id, alert.rule) is not None:
            return None  # one visit answers both episodes: the person on it sees the new silence
        try:
            assignee = self.roster.responsible_for(household).worker_id
        except LookupError as exc:
            log.error("opening %s unassigned: %s", alert.key.as_text(), exc)
            assignee = UNASSIGNED
        order, created = self.store.open_order(
            alert.key, assignee, household.tier.value, alert.at, dict(alert.evidence)
        )
        self._ensure_deliveries(order, household)
        return order if created else None

    def _usage_resumed(self, alert: Alert) -> None:
        if "usage_resumed" not in alert.evidence:
            return  # withdrawn (e.g. a raised threshold): no sign of life to report
        order = self.store.find(alert.key)
        if order is None or order.status not in ACTIVE:
            return
        # Recorded, not closed: only a person who checked on the resident closes an order.
        self.store.record_usage_resumed(order.order_id, alert.evidence["usage_resumed"])

    # -- deliveries ------------------------------------------------------------
    def _ensure_deliveries(self, order: WorkOrder, household: Household) -> None:
        if order.assignee == UNASSIGNED or not self.channels:
            return
        level = order.escalation_level
        have = {
            (d.channel, d.recipient)
            for d in self.store.deliveries(order.order_id)
            if d.escalation_level == level
        }
        wanted = [name for name in self.channels if (name, order.assignee) not in have]
        if not wanted:
            return
        payload = render_ticket(order, household, self.tz_offset_hours).as_dict()
        self.store.enqueue(
            [Delivery(order.order_id, name, order.assignee, level, payload) for name in wanted],
            self.clock.now(),
        )

    def deliver_pending(self) -> int:
        """Try every due delivery once; returns how many were confirmed."""
        now = self.clock.now()
        confirmed = 0
        for delivery in self.store.claim_due(now, self.channels.keys(), self.claim_lease_s):
            if self._deliver(delivery, now):
                confirmed += 1
        return confirmed

    def _deliver(self, delivery: Delivery, now: float) -> bool:
        order = self.store.get(delivery.order_id)
        if order.status is OrderStatus.RESOLVED:
            self.store.abandon(delivery.delivery_id, now, "the order was resolved before delivery")
            return False
        try:
            recipient = self.roster.get(delivery.recipient)
        except LookupError as exc:
            self.store.abandon(delivery.delivery_id, now, str(exc))
            return False
        try:
            self.channels[delivery.channel].deliver(recipient, delivery.payload)
        except DeliveryError as exc:
            if not exc.recoverable:
                self.store.abandon(delivery.delivery_id, now, str(exc))
                return False
            self._retry_later(delivery, now, str(exc))
            return False
        except Exception as exc:  # a channel bug must not stop the other deliveries
            log.exception(
                "channel %s raised while delivering order %s", delivery.channel, delivery.order_id
            )
            self._retry_later(delivery, now, f"{type(exc).__name__}: {exc}")
            return False
        if not self.store.mark_delivered(delivery.delivery_id, now):
            return False
        if order.status is OrderStatus.OPEN:
            try:
                self.store.transition(
                    order.order_id,
                    OrderStatus.NOTIFIED,
                    now,
                    ACTOR,
                    note=f"{delivery.channel} confirmed delivery to {delivery.recipient}",
                )
            except OrderStateError:
                pass  # someone acknowledged it meanwhile (CLI in another process)
        return True

    def _retry_later(self, delivery: Delivery, now: float, error: str) -> None:
        # attempts counts earlier failures; this one is attempts + 1
        delay = min(self.retry_base_s * 2.0**delivery.attempts, self.retry_max_s)
        self.store.retry_later(delivery.delivery_id, now + delay, error)

    # -- escalation ------------------------------------------------------------
    def escalate_due(self) -> list[WorkOrder]:
        """Move every unacknowledged order whose deadline passed one level up its chain.

        One level per call: the new assignee gets a full deadline from the moment the
        order reached them, also after a restart that left an order overdue."""
        now = self.clock.now()
        escalated: list[WorkOrder] = []
        for order in self.store.list(UNACKNOWLEDGED):
            household = self._household(order.household_id)
            if household is None:
                continue
            self._ensure_deliveries(order, household)
            chain = self.roster.escalation_chain(household)
            if order.escalation_level + 1 >= len(chain):
                continue  # chain exhausted: the last level keeps it
            deadline = (
                self.ack_deadline_s[Tier(order.tier)]
                if order.tier in _TIER_VALUES
                else min(self.ack_deadline_s.values())
            )
            if now < self._waiting_since(order) + deadline:
                continue
            successor = chain[order.escalation_level + 1]
            try:
                moved = self.store.escalate(
                    order.order_id,
                    order.escalation_level + 1,
                    successor.worker_id,
                    now,
                    note=f"not acknowledged within {deadline / 60:g} min",
                )
            except OrderStateError:
                continue  # acknowledged or escalated by another process meanwhile
            self._ensure_deliveries(moved, household)
            escalated.append(moved)
        return escalated

    def _waiting_since(self, order: WorkOrder) -> float:
        """When the current assignee got the order: opening, or the last escalation."""
        if order.escalation_level == 0:
            return order.opened_at
        times = [e.at for e in self.store.ledger(order.order_id) if e.action == ACTION_ESCALATED]
        return max(times, default=order.opened_at)

    # -- people ----------------------------------------------------------------
    def ack(self, order_id: int, actor: str, note: str = "") -> WorkOrder:
        return self.store.transition(
            order_id, OrderStatus.ACKNOWLEDGED, self.clock.now(), actor, note
        )

    def onsite(self, order_id: int, actor: str, note: str = "") -> WorkOrder:
        return self.store.transition(order_id, OrderStatus.ONSITE, self.clock.now(), actor, note)

    def resolve(
        self, order_id: int, actor: str, outcome: Outcome | str | None, note: str = ""
    ) -> WorkOrder:
        if isinstance(outcome, str) and not isinstance(outcome, Outcome):
            try:
                outcome = Outcome(outcome)
            except ValueError:
                raise ValueError(
                    f"outcome must be one of {', '.join(o.value for o in Outcome)}, got {outcome!r}"
                ) from None
        return self.store.transition(
            order_id, OrderStatus.RESOLVED, self.clock.now(), actor, note, outcome
        )

    def _household(self, household_id: str) -> Household | None:
        try:
            return self.registry.household_by_id(household_id)
        except LookupError as exc:
            log.error("dropping work for an unregistered household: %s", exc)
            return None


_TIER_VALUES = frozenset(t.value for t in Tier)
