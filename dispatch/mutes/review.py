"""The review, run once per pass of the chain right after the mute stage: storms first
(end the ones whose order was resolved or whose homes all came back, open new ones,
hand each standing storm's infrastructure order on), then the waiting alerts whose
reason has gone. Storms come first so a held alert whose neighbours made a storm is
muted by it, not released."""

from __future__ import annotations

from dispatch.assign import most_urgent
from dispatch.mutes.records import Storm
from dispatch.mutes.stage import MuteStage
from dispatch.mutes.storm import StormGuard
from dispatch.orderstores.base import DispatchStore
from dispatch.pipeline import Case, Round, registered, watches
from lifesign.alerts import Alert, AlertState
from lifesign.registry import Registry
from lifesign.workorders import ACTIVE, OrderStatus, WorkOrder


class StormStage:
    """Present only with a storm guard. Reads each standing storm's order once a pass."""

    def __init__(self, guard: StormGuard, orders: DispatchStore, registry: Registry) -> None:
        self.guard = guard
        self.mutes = guard.store
        self.orders = orders
        self.registry = registry

    def exec(self, ctx: Round, cases: list[Case]) -> list[Case]:
        known: dict[int, WorkOrder | None] = {}

        def order_of(storm: Storm) -> WorkOrder | None:
            if storm.storm_id not in known:
                known[storm.storm_id] = self.orders.find(storm.order_key)
            return known[storm.storm_id]

        for storm in self._ours():
            order = order_of(storm)
            if order is not None and order.status is OrderStatus.RESOLVED:
                self.mutes.end_storm(storm.storm_id, ctx.now, "its infrastructure order was resolved")
            elif not self.guard.members(storm):
                self.mutes.end_storm(storm.storm_id, ctx.now, "usage resumed in every home")
                if order is not None and order.status in ACTIVE:
                    # recorded, not closed: the grid leader confirms the supply came back
                    self.orders.record_usage_resumed(order.order_id, ctx.now)
        self.guard.detect(ctx.now)
        for storm in self._ours():
            order = order_of(storm)
            if order is None:
                cases.append(self._case(storm, ctx.now))
            elif order.status in ACTIVE:
                cases.append(Case(Alert(storm.order_key, AlertState.OPENED, ctx.now), None, ctx.now,
                                  order=order, joins_active=False))
        return cases

    def _ours(self) -> list[Storm]:
        """Standing storms of this registry's areas: another partition's are its instance's."""
        return [storm for storm in self.mutes.storms() if watches(self.registry, storm.order_key.household_id)]

    def _case(self, storm: Storm, now: float) -> Case:
        members = self.guard.members(storm)
        tiers = [h.tier for h in (registered(self.registry, m.key.household_id) for m in members) if h]
        total = self.guard.homes_total(storm)
        evidence = {"homes_silent": float(len({m.key.household_id for m in members})),
                    "homes_total": float(total), "first_silence": storm.episode_start}
        evidence["share"] = evidence["homes_silent"] / total if total else 0.0
        return Case(Alert(storm.order_key, AlertState.OPENED, now, evidence), None, now,
                    tier=most_urgent(tiers), joins_active=False)


class ReleaseStage:
    """Held and muted alerts whose reason has gone become cases, opened as of now."""

    def __init__(self, mutes: MuteStage, registry: Registry) -> None:
        self.mutes = mutes
        self.registry = registry

    def exec(self, ctx: Round, cases: list[Case]) -> list[Case]:
        for _tracked, alert in self.mutes.releasable(ctx.now, lambda t: t.key.household_id in self.registry.household_index):
            household = registered(self.registry, alert.household_id)
            if household is not None:
                cases.append(Case(alert, household, ctx.now))
        return cases


__all__ = ["ReleaseStage", "StormStage"]
