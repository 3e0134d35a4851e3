"""Deliver: the durable outbox drained through the channels, with retries and backoff.

Each delivery is one ticket for one recipient on one channel at one escalation level
(unique in the outbox), frozen at enqueue time with its idempotency key, so a retry
sends the same bytes and a receiver can drop a repeat. A delivery is marked done only
after its channel confirmed it; a recoverable failure is retried with exponential
backoff, a permanent one is abandoned and written to the ledger.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import tzinfo
from typing import Any

from dispatch.assign import CONTACT_PREFIX, Assigner
from dispatch.channels.base import Channel, DeliveryError
from dispatch.defaults import CLAIM_LEASE_S, DELIVERY_RETRY, UNASSIGNED
from dispatch.mutes.records import area_of
from dispatch.orderstores.base import Delivery, DispatchStore
from dispatch.orderstores.lifecycle import SYSTEM_ACTOR, OrderStateError
from dispatch.ticket import render_area_ticket, render_ticket
from lifesign.clock import DEFAULT_TZ, Clock
from lifesign.retry import Backoff
from lifesign.workorders import OrderStatus, WorkOrder

log = logging.getLogger(__name__)


def idempotency_key(order_id: int, level: int, channel: str) -> str:
    """
    >>> idempotency_key(12, 1, "wecom")
    'lifesign-order-12-level-1-wecom'
    """
    return f"lifesign-order-{order_id}-level-{level}-{channel}"


class Deliverer:
    def __init__(self, store: DispatchStore, assigner: Assigner, channels: Sequence[Channel], clock: Clock, *,
                 tz: tzinfo = DEFAULT_TZ, retry: Backoff = DELIVERY_RETRY,
                 claim_lease_s: float = CLAIM_LEASE_S, language: str = "en") -> None:
        names = [c.name for c in channels]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ValueError(
                f"channel names must be unique, got {', '.join(duplicated)} more than once"
            )
        self.store = store
        self.assigner = assigner
        self.channels = {c.name: c for c in channels}
        self.clock = clock
        self.tz = tz
        #: site.yaml `language:` for the words on tickets
        self.language = language
        self.retry = retry
        self.claim_lease_s = claim_lease_s
        #: the signed page link for a ticket's recipient (the order's assignee), set by the
        #: app when a web desk serves the pages; None: tickets carry no link
        self.links: Callable[[WorkOrder], str | None] | None = None

    def channels_for(self, recipient: str) -> list[str]:
        """Staff get every channel; a resident's relative only those that reach outside the
        staff (``reaches_contacts``: console, generic webhook to an SMS/voice gateway)."""
        if recipient.startswith(CONTACT_PREFIX):
            return [n for n, c in self.channels.items() if getattr(c, "reaches_contacts", False)]
        return list(self.channels)

    def ensure(self, order: WorkOrder) -> None:
        """Enqueue the current level's deliveries that are missing (idempotent)."""
        missing = self.missing(order)
        if missing:
            self.store.enqueue(missing, self.clock.now())

    def missing(self, order: WorkOrder, *, just_opened: bool = False) -> list[Delivery]:
        """The current level's deliveries the outbox lacks. A ``just_opened`` order has
        none yet: the outbox is not read for it."""
        if order.assignee == UNASSIGNED or not self.channels:
            return []
        level = order.escalation_level
        names = self.channels_for(order.assignee)
        if not names:
            return []  # e.g. only MQTT configured: the escalation stands in the ledger (warned once)
        have = set() if just_opened else {
            (d.channel, d.recipient) for d in self.store.deliveries(order.order_id) if d.escalation_level == level}
        wanted = [n for n in names if (n, order.assignee) not in have]
        payload = self.ticket(order) if wanted else None
        if payload is None:
            return []
        return [Delivery(order.order_id, name, order.assignee, level,
                         {**payload, "idempotency_key": idempotency_key(order.order_id, level, name)})
                for name in wanted]

    def ticket(self, order: WorkOrder) -> dict[str, Any] | None:
        area = area_of(order.household_id)
        try:
            if area is not None:
                community, grid = self.assigner.area_place(*area)
                homes = self.assigner.homes_in(*area)
                return render_area_ticket(order, area[0], area[1], community, grid, homes,
                                          self.tz, self._link(order)).as_dict()
            household = self.assigner.registry.household_by_id(order.household_id)
        except LookupError as exc:
            log.error("no ticket for order %s: %s", order.order_id, exc)
            return None
        return render_ticket(order, household, self.tz, self._link(order), self.language).as_dict()

    def _link(self, order: WorkOrder) -> str | None:
        return None if self.links is None else self.links(order)

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
            recipient = self.assigner.recipient(delivery.recipient)
        except LookupError as exc:
            # a relative of a home another partition watches: any instance delivers the outbox
            contact = self.assigner.contact_in_ticket(delivery.recipient, delivery.payload)
            if contact is None:
                self.store.abandon(delivery.delivery_id, now, str(exc))
                return False
            recipient = contact
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
                self.store.transition(order.order_id, OrderStatus.NOTIFIED, now, SYSTEM_ACTOR,
                                      note=f"{delivery.channel} confirmed delivery to {delivery.recipient}")
            except OrderStateError:
                pass  # someone acknowledged it meanwhile (CLI in another process)
        return True

    def _retry_later(self, delivery: Delivery, now: float, error: str) -> None:
        # attempts counts earlier failures; this one is attempts + 1
        self.store.retry_later(delivery.delivery_id, now + self.retry.delay(delivery.attempts + 1), error)
