"""Alerts in, work orders out: the dispatch chain and the periodic jobs beside it.

    alerts -> mute -> storms -> release -> resume -> assign -> dedup -> enqueue -> outbox
    every sweep: one pass of the chain (its review included); periodically: deliver, escalate

The dispatcher holds no state of its own: orders, ledger and outbox live in the
order store, held and muted alerts and storms in the mute store, so a new
Dispatcher over the same files carries on exactly where the last one stopped (no
order opened twice, no escalation skipped or repeated, no confirmed delivery sent
again). Every time comes from the Clock (event time). People change an order's state
through the store's lifecycle (``store.transition``), never through the dispatcher.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import tzinfo

from dispatch.assign import Assigner
from dispatch.channels.base import Channel
from dispatch.defaults import CLAIM_LEASE_S, RETRY_BASE_S, RETRY_MAX_S, UNASSIGNED
from dispatch.delivering import Deliverer
from dispatch.escalating import Escalator, next_level
from dispatch.mutes.review import ReleaseStage, StormStage
from dispatch.mutes.stage import MuteStage
from dispatch.orderstores.base import DispatchStore
from dispatch.pipeline import Case, Chain, Round, Stage, registered
from dispatch.stages import AssignStage, DedupStage, EnqueueStage, ResumeStage
from lifesign.alerts import Alert, AlertState
from lifesign.clock import Clock
from lifesign.grid import Tier
from lifesign.registry import Registry
from lifesign.retry import Backoff
from lifesign.roster import Roster
from lifesign.workorders import WorkOrder


class Dispatcher:
    """Run ``handle``, ``review``, ``deliver_pending`` and ``escalate_due`` from one thread
    (the service's dispatch loop); people act on orders through the store from any
    thread or process."""

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
        retry_base_s: float = RETRY_BASE_S,
        retry_max_s: float = RETRY_MAX_S,
        claim_lease_s: float = CLAIM_LEASE_S,
        mutes: MuteStage | None = None,
        close_on_usage: Mapping[Tier, str] | None = None,
        emergency_contact_step: bool = True,
        language: str = "en",
    ) -> None:
        self.store = store
        self.registry = registry
        self.clock = clock
        # the site's zone; by default the roster's, which the site gave it at load
        self.tz = roster.tz if tz is None else tz
        self.assigner = Assigner(roster, registry, emergency_contact_step)
        self.deliverer = Deliverer(store, self.assigner, channels, clock, tz=self.tz,
                                   retry=Backoff(retry_base_s, retry_max_s), claim_lease_s=claim_lease_s,
                                   language=language)
        self.channels = self.deliverer.channels
        self.escalator = Escalator(store, registry, self.assigner, self.deliverer, clock, ack_deadline_s)
        self.ack_deadline_s = self.escalator.ack_deadline_s
        self.mutes = mutes
        self.chain = Chain([*self._mute_stages(mutes),
                            ResumeStage(store, close_on_usage), AssignStage(self.assigner),
                            DedupStage(store), EnqueueStage(store, self.deliverer)])

    def _mute_stages(self, mutes: MuteStage | None) -> list[Stage]:
        # The one place that decides which optional stages a site's chain has.
        if mutes is None:
            return []
        storms = [StormStage(mutes.guard, self.store, self.registry)] if mutes.guard is not None else []
        return [mutes, *storms, ReleaseStage(mutes, self.registry)]

    def handle(self, alerts: Sequence[Alert]) -> list[WorkOrder]:
        """One pass of the chain over a batch (its review included); returns the orders it opened."""
        ctx = Round(self.clock.now())
        cases = []
        for alert in alerts:
            if alert.state is AlertState.CLEARED:
                cases.append(Case(alert, None, alert.at))
            elif (household := registered(self.registry, alert.household_id)) is not None:
                cases.append(Case(alert, household, alert.at))
        self.chain.exec(ctx, cases)
        return ctx.created

    def review(self) -> list[WorkOrder]:
        """A pass with no new alerts: storms, and held or muted alerts whose reason has gone."""
        return self.handle([])

    def deliver_pending(self) -> int:
        """Try every due delivery once; returns how many were confirmed."""
        return self.deliverer.deliver_pending()

    def escalate_due(self) -> list[WorkOrder]:
        return self.escalator.escalate_due()

    def next_escalation_at(self) -> float:
        return self.escalator.next_escalation_at()


__all__ = ["UNASSIGNED", "Dispatcher", "next_level"]
