"""The stages every dispatch chain has: resume, assign, dedup, enqueue.

Per new alert the order store is touched once to read-or-open its order (dedup) and
the outbox once per batch (enqueue): the assignee is worked out before the order
is opened, because opening it is the dedup, in one transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from dispatch.assign import Assigner, order_tier
from dispatch.defaults import CLOSE_AUTOMATICALLY, CLOSE_ON_USAGE, CLOSE_POLICIES, UNASSIGNED
from dispatch.delivering import Deliverer
from dispatch.orderstores.base import Delivery, DispatchStore
from dispatch.orderstores.lifecycle import SYSTEM_ACTOR, OrderStateError
from dispatch.pipeline import Case, Round
from lifesign.alerts import AlertState
from lifesign.grid import Tier
from lifesign.workorders import ACTIVE, UNACKNOWLEDGED, OrderStatus, Outcome

log = logging.getLogger(__name__)
_TIER_VALUES = frozenset(t.value for t in Tier)


class ResumeStage:
    """Cleared alerts end here: the order of their episode records that usage resumed, and
    closes itself where the tier's policy says so and nobody has taken it yet."""

    def __init__(self, store: DispatchStore, close_on_usage: Mapping[Tier, str] | None = None) -> None:
        policy = dict(CLOSE_ON_USAGE if close_on_usage is None else close_on_usage)
        for tier, value in policy.items():
            if value not in CLOSE_POLICIES:
                raise ValueError(f"close_on_usage[{Tier(tier).value}] must be person or auto, got {value!r}")
        self.store = store
        self.close_on_usage = {Tier(t): v for t, v in policy.items()}

    def exec(self, ctx: Round, cases: list[Case]) -> list[Case]:
        opened = []
        for case in cases:
            if case.alert.state is AlertState.CLEARED:
                self._usage_resumed(case, ctx.now)
            else:
                opened.append(case)
        return opened

    def _usage_resumed(self, case: Case, now: float) -> None:
        alert = case.alert
        if "usage_resumed" not in alert.evidence:
            return  # withdrawn (e.g. a raised threshold): no sign of life to report
        order = self.store.find(alert.key)
        if order is None or order.status not in ACTIVE:
            return
        self.store.record_usage_resumed(order.order_id, alert.evidence["usage_resumed"])
        tier = Tier(order.tier) if order.tier in _TIER_VALUES else Tier.RED
        if self.close_on_usage.get(tier) != CLOSE_AUTOMATICALLY or order.status not in UNACKNOWLEDGED:
            return  # a person closes it (and someone already on the way finishes the visit)
        note = f"usage resumed; closed automatically by the {tier.value} tier's policy"
        try:
            self.store.transition(order.order_id, OrderStatus.ACKNOWLEDGED, now, SYSTEM_ACTOR, note)
            self.store.transition(order.order_id, OrderStatus.RESOLVED, now, SYSTEM_ACTOR, note,
                                  Outcome.RESIDENT_FINE)
        except OrderStateError:
            pass  # a person took it meanwhile: theirs to close


class AssignStage:
    """Who answers the order first, and how urgent it is."""

    def __init__(self, assigner: Assigner) -> None:
        self.assigner = assigner

    def exec(self, ctx: Round, cases: list[Case]) -> list[Case]:
        for case in cases:
            if case.order is not None:
                continue  # came with its order (a standing storm's): nothing to decide
            key = case.alert.key
            try:
                case.assignee = self.assigner.responsible(key.household_id, key.rule, case.opened_at).worker_id
            except LookupError as exc:
                case.assignee, case.unassigned_because = UNASSIGNED, str(exc)
            if case.tier is None and case.household is not None:
                severity = getattr(case.alert.severity, "value", str(case.alert.severity))
                waited = "electricity_only_s" in (case.alert.evidence or {})
                case.tier = order_tier(key.rule, case.household.tier, severity, waited)
        return cases


class DedupStage:
    """Exactly once per episode: one read-or-open of the order store per case. A repeated
    alert (detector restart, replay) finds its order; a new episode of a home whose
    order for the same rule is still active joins it (the person on it sees the new
    silence). Only orders with deliveries to make go on."""

    def __init__(self, store: DispatchStore) -> None:
        self.store = store

    def exec(self, ctx: Round, cases: list[Case]) -> list[Case]:
        onward = []
        for case in cases:
            if case.order is None:
                alert = case.alert
                assert case.tier is not None, "assign gives every case a tier"
                case.order, case.created = self.store.open_order(
                    alert.key, case.assignee, case.tier.value, case.opened_at, dict(alert.evidence),
                    join_active=case.joins_active)
                if case.created:
                    ctx.created.append(case.order)
                    if case.unassigned_because:
                        log.error("opened %s unassigned: %s", alert.key.as_text(), case.unassigned_because)
                elif case.order.key != alert.key:
                    continue  # joined another episode's order: its deliveries are made
            if case.created or case.order.status in ACTIVE:
                # re-enqueueing an existing order is a no-op unless a crash came between
                # opening it and enqueueing its deliveries
                onward.append(case)
        return onward


class EnqueueStage:
    """The tickets of the batch's orders into the outbox, in one transaction."""

    def __init__(self, store: DispatchStore, deliverer: Deliverer) -> None:
        self.store = store
        self.deliverer = deliverer

    def exec(self, ctx: Round, cases: list[Case]) -> list[Case]:
        deliveries: list[Delivery] = []
        for case in cases:
            if case.order is not None:
                deliveries += self.deliverer.missing(case.order, just_opened=case.created)
        if deliveries:
            self.store.enqueue(deliveries, ctx.now)
        return cases


__all__ = ["AssignStage", "DedupStage", "EnqueueStage", "ResumeStage"]
