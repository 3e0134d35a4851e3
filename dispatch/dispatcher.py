"""Alerts in, work orders out: mute → dedup → assign → deliver → escalate.

The dispatcher holds no state of its own: orders, ledger and outbox live in the
order store, held and muted alerts and storms in the mute store, so a new
Dispatcher over the same files carries on exactly where the last one stopped (no
order opened twice, no escalation skipped or repeated, no confirmed delivery sent
again). Every time comes from the Clock (event time).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import tzinfo

from dispatch import actions
from dispatch.actions import Actor, ActorKind
from dispatch.assign import Assigner, most_urgent, order_tier
from dispatch.channels.base import Channel
from dispatch.delivering import Deliverer
from dispatch.mutes.records import AlertFate, Storm, area_of
from dispatch.mutes.stage import MuteStage
from dispatch.orderstores.base import DispatchStore
from dispatch.orderstores.lifecycle import ACTION_ESCALATED, OrderStateError, escalation_hands
from lifesign.alerts import Alert, AlertState
from lifesign.clock import Clock
from lifesign.grid import Household, Tier, Worker
from lifesign.registry import Registry
from lifesign.roster import Roster
from lifesign.workorders import ACTIVE, UNACKNOWLEDGED, OrderStatus, Outcome, WorkOrder

log = logging.getLogger(__name__)

#: assignee of an order nobody in the roster covers: it stays visible in the store and the log
UNASSIGNED = "(unassigned)"
ACTOR = "lifesign"
#: close policies for orders whose household's usage resumed, per tier
CLOSE_BY_PERSON, CLOSE_AUTOMATICALLY = "person", "auto"
DEFAULT_CLOSE_ON_USAGE = {Tier.RED: CLOSE_BY_PERSON, Tier.YELLOW: CLOSE_BY_PERSON, Tier.GREEN: CLOSE_AUTOMATICALLY}


class Dispatcher:
    """Run ``handle``, ``review``, ``deliver_pending`` and ``escalate_due`` from one thread
    (the service's dispatch loop); ``ack``, ``onsite`` and ``resolve`` are safe from any
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
        tz: tzinfo | None = None,
        retry_base_s: float = 10.0,
        retry_max_s: float = 600.0,
        claim_lease_s: float = 120.0,
        mutes: MuteStage | None = None,
        close_on_usage: Mapping[Tier, str] | None = None,
        emergency_contact_step: bool = True,
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
        policy = dict(DEFAULT_CLOSE_ON_USAGE if close_on_usage is None else close_on_usage)
        for tier, value in policy.items():
            if value not in (CLOSE_BY_PERSON, CLOSE_AUTOMATICALLY):
                raise ValueError(f"close_on_usage[{Tier(tier).value}] must be person or auto, got {value!r}")
        self.store = store
        self.registry = registry
        self.roster = roster
        self.clock = clock
        self.ack_deadline_s = {Tier(t): float(s) for t, s in ack_deadline_s.items()}
        # the site's zone; by default the roster's, which the site gave it at load
        self.tz = roster.tz if tz is None else tz
        self.assigner = Assigner(roster, registry, emergency_contact_step)
        self.mutes = mutes
        self.close_on_usage = {Tier(t): v for t, v in policy.items()}
        self.deliverer = Deliverer(store, self.assigner, channels, clock, tz=self.tz,
                                   retry_base_s=retry_base_s, retry_max_s=retry_max_s,
                                   claim_lease_s=claim_lease_s)
        self.channels = self.deliverer.channels

    # -- alerts ----------------------------------------------------------------
    def handle(self, alerts: Sequence[Alert]) -> list[WorkOrder]:
        """Turn alerts into orders; returns the orders newly created by this call."""
        created: list[WorkOrder] = []
        now = self.clock.now()
        for alert in alerts:
            if alert.state is AlertState.OPENED:
                household = self._household(alert.household_id)
                if household is None:
                    continue
                if (self.mutes is not None and self.store.find(alert.key) is None
                        and not self.mutes.admit(alert, household, now)):
                    continue  # held or muted: the review below (and every later one) decides
                order = self._open(alert, household, alert.at)
                if order is not None:
                    created.append(order)
            elif alert.state is AlertState.CLEARED:
                if self.mutes is not None:
                    self.mutes.cleared(alert.key, now)
                self._usage_resumed(alert)
        if self.mutes is not None:
            created += self.review()
        return created

    def review(self) -> list[WorkOrder]:
        """Storms, and held or muted alerts whose reason has gone: run on every sweep."""
        if self.mutes is None:
            return []
        now = self.clock.now()
        created: list[WorkOrder] = []
        for storm in self.mutes.review_storms(now, self._storm_order_ended, self._storm_all_clear):
            order = self._open_storm_order(storm, now)
            if order is not None:
                created.append(order)
        for _tracked, alert in self.mutes.releasable(now):
            household = self._household(alert.household_id)
            if household is None:
                continue
            order = self._open(alert, household, now)
            if order is not None:
                created.append(order)
        return created

    def _open(self, alert: Alert, household: Household, at: float) -> WorkOrder | None:
        same_episode = self.store.find(alert.key)
        if same_episode is not None:
            # A repeated alert (detector restart, replay). Re-enqueueing is a no-op unless a
            # crash came between opening the order and enqueueing its deliveries.
            if same_episode.status in ACTIVE:
                self.deliverer.ensure(same_episode)
            return None
        if self.store.active_for(alert.household_id, alert.rule) is not None:
            return None  # one visit answers both episodes: the person on it sees the new silence
        try:
            assignee = self.assigner.responsible(household.household_id, alert.rule, at).worker_id
        except LookupError as exc:
            log.error("opening %s unassigned: %s", alert.key.as_text(), exc)
            assignee = UNASSIGNED
        tier = order_tier(alert.rule, household.tier, getattr(alert.severity, "value", str(alert.severity)))
        order, created = self.store.open_order(alert.key, assignee, tier.value, at, dict(alert.evidence))
        self.deliverer.ensure(order)
        return order if created else None

    def _open_storm_order(self, storm: Storm, now: float) -> WorkOrder | None:
        assert self.mutes is not None and self.mutes.guard is not None
        key = storm.order_key
        existing = self.store.find(key)
        if existing is not None:
            if existing.status in ACTIVE:
                self.deliverer.ensure(existing)
            return None
        members = self.mutes.guard.members(storm)
        tiers = []
        for member in members:
            household = self._household(member.key.household_id)
            if household is not None:
                tiers.append(household.tier)
        total = self.mutes.guard.homes_total(storm)
        evidence = {"homes_silent": float(len({m.key.household_id for m in members})),
                    "homes_total": float(total), "first_silence": storm.episode_start}
        evidence["share"] = evidence["homes_silent"] / total if total else 0.0
        try:
            assignee = self.assigner.responsible(key.household_id, key.rule, now).worker_id
        except LookupError as exc:
            log.error("opening %s unassigned: %s", key.as_text(), exc)
            assignee = UNASSIGNED
        order, created = self.store.open_order(key, assignee, most_urgent(tiers).value, now, evidence)
        self.deliverer.ensure(order)
        return order if created else None

    def _storm_order_ended(self, storm: Storm) -> bool:
        order = self.store.find(storm.order_key)
        return order is not None and order.status is OrderStatus.RESOLVED

    def _storm_all_clear(self, storm: Storm) -> None:
        order = self.store.find(storm.order_key)
        if order is not None and order.status in ACTIVE:
            # recorded, not closed: the grid leader confirms the supply came back
            self.store.record_usage_resumed(order.order_id, self.clock.now())

    def _usage_resumed(self, alert: Alert) -> None:
        if "usage_resumed" not in alert.evidence:
            return  # withdrawn (e.g. a raised threshold): no sign of life to report
        order = self.store.find(alert.key)
        if order is None or order.status not in ACTIVE:
            return
        at = alert.evidence["usage_resumed"]
        self.store.record_usage_resumed(order.order_id, at)
        tier = Tier(order.tier) if order.tier in _TIER_VALUES else Tier.RED
        if self.close_on_usage.get(tier) != CLOSE_AUTOMATICALLY or order.status not in UNACKNOWLEDGED:
            return  # a person closes it (and someone already on the way finishes the visit)
        note = f"usage resumed; closed automatically by the {tier.value} tier's policy"
        try:
            self.store.transition(order.order_id, OrderStatus.ACKNOWLEDGED, self.clock.now(), ACTOR, note)
            self.store.transition(order.order_id, OrderStatus.RESOLVED, self.clock.now(), ACTOR, note,
                                  Outcome.RESIDENT_FINE)
        except OrderStateError:
            pass  # a person took it meanwhile: theirs to close

    # -- deliveries ------------------------------------------------------------
    def deliver_pending(self) -> int:
        """Try every due delivery once; returns how many were confirmed."""
        return self.deliverer.deliver_pending()

    # -- escalation ------------------------------------------------------------
    def escalate_due(self) -> list[WorkOrder]:
        """Move every unacknowledged order whose deadline passed one level up its chain.

        One level per call: the new assignee gets a full deadline from the moment the
        order reached them, also after a restart that left an order overdue."""
        now = self.clock.now()
        escalated: list[WorkOrder] = []
        for order in self.store.list(UNACKNOWLEDGED):
            if area_of(order.household_id) is None and self._household(order.household_id) is None:
                continue
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
            deadline = (
                self.ack_deadline_s[Tier(order.tier)]
                if order.tier in _TIER_VALUES
                else min(self.ack_deadline_s.values())
            )
            if now < max((e.at for e in escalations), default=order.opened_at) + deadline:
                continue
            successor = chain[successor_level]
            try:
                moved = self.store.escalate(
                    order.order_id,
                    successor_level,
                    successor.worker_id,
                    now,
                    note=f"not acknowledged within {deadline / 60:g} min",
                    from_level=order.escalation_level,
                )
            except OrderStateError:
                continue  # acknowledged or escalated by another process meanwhile
            self.deliverer.ensure(moved)
            if not self.deliverer.channels_for(moved.assignee):
                log.warning("order %s escalated to %s, whom no configured channel reaches: call %s",
                            moved.order_id, moved.assignee, successor.phone)
            escalated.append(moved)
        return escalated

    # -- people ----------------------------------------------------------------
    # The same functions the web desk and the CLI call (dispatch.actions); a bare string
    # names a roster worker.
    def ack(self, order_id: int, actor: Actor | str, note: str = "") -> WorkOrder:
        return actions.acknowledge(self.store, order_id, _actor(actor), self.clock.now(), note)

    def onsite(self, order_id: int, actor: Actor | str, note: str = "") -> WorkOrder:
        return actions.on_site(self.store, order_id, _actor(actor), self.clock.now(), note)

    def resolve(
        self, order_id: int, actor: Actor | str, outcome: Outcome | str | None, note: str = ""
    ) -> WorkOrder:
        return actions.resolve(self.store, order_id, _actor(actor), self.clock.now(), outcome, note)

    def _household(self, household_id: str) -> Household | None:
        try:
            return self.registry.household_by_id(household_id)
        except LookupError as exc:
            log.error("dropping work for an unregistered household: %s", exc)
            return None


def _actor(actor: Actor | str) -> Actor:
    return actor if isinstance(actor, Actor) else Actor(ActorKind.WORKER, actor)


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


_TIER_VALUES = frozenset(t.value for t in Tier)
__all__ = ["ACTOR", "UNASSIGNED", "AlertFate", "Dispatcher", "next_level"]
