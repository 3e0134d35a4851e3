"""The dispatch chain: each stage takes the batch's cases and returns the ones that go on.

Like Alertmanager's ``Stage.Exec(ctx, alerts) -> (ctx, alerts, err)``: a stage knows
nothing of the stages beside it, only the :class:`Case` list it is handed and the
:class:`Round` it runs in (errors are exceptions). A stage with nothing to do for a
site is absent from the chain, which the wiring builds::

    alerts -> mute -> storms -> release -> resume -> assign -> dedup -> enqueue -> outbox
              (the first three only with the mute store; storms only with the storm guard)

Delivering the outbox and escalating are periodic jobs beside the chain.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from dispatch.mutes.records import area_of
from lifesign.alerts import Alert
from lifesign.grid import Household, Tier
from lifesign.registry import Registry
from lifesign.workorders import WorkOrder

log = logging.getLogger(__name__)


@dataclass
class Case:
    """An alert on its way to a work order, and what the stages learned about it."""

    alert: Alert
    #: the home; None for a cleared alert (not looked up) and for an area's infrastructure order
    household: Household | None
    #: when its order opens: the alert's time, or the review that released it
    opened_at: float
    #: set by assign, or given with the case (an infrastructure order's most urgent home)
    tier: Tier | None = None
    assignee: str = ""
    #: why nobody could be assigned (logged if the order is opened unassigned)
    unassigned_because: str = ""
    #: the order it became or joined (dedup), or the one it came with (a standing storm's)
    order: WorkOrder | None = None
    created: bool = False
    #: one visit answers two episodes of a home and rule; a storm's order never joins
    joins_active: bool = True


@dataclass
class Round:
    """One pass of the chain (Alertmanager's ctx): its event time and what it opened."""

    now: float
    created: list[WorkOrder] = field(default_factory=list)


class Stage(Protocol):
    def exec(self, ctx: Round, cases: list[Case]) -> list[Case]: ...


class Chain:
    def __init__(self, stages: Sequence[Stage]) -> None:
        self.stages = tuple(stages)

    def exec(self, ctx: Round, cases: list[Case]) -> list[Case]:
        for stage in self.stages:
            cases = stage.exec(ctx, cases)
        return cases

    def __repr__(self) -> str:
        return " -> ".join(type(s).__name__ for s in self.stages)


def registered(registry: Registry, household_id: str) -> Household | None:
    """The home, or None (logged) when the registry no longer knows it: its work is dropped."""
    try:
        return registry.household_by_id(household_id)
    except LookupError as exc:
        log.error("dropping work for an unregistered household: %s", exc)
        return None


def watches(registry: Registry, subject: str) -> bool:
    """Whether an order's subject (a household, or an infrastructure order's building or
    grid) is one of this registry's: with partitions, the others' orders, held alerts and
    storms are left to the instance that watches them (and a home since removed from the
    registry has nobody's).

    >>> from lifesign.grid import Address, Meter, Resident, Utility
    >>> reg = Registry.from_records([Household("H1", Address("C1", "G1", "B1", "U", "1"), Resident("R", 80, "", ""),
    ...                                        Tier.RED)], [Meter("W1", "H1", Utility.WATER, "GW1")])
    >>> [watches(reg, s) for s in ("H1", "H2", "building:B1", "grid:G1", "grid:G2")]
    [True, False, True, True, False]
    """
    area = area_of(subject)
    if area is None:
        return subject in registry.household_index
    scope, name = area
    column = registry.building if scope == "building" else registry.grid
    return bool((column == name).any())


__all__ = ["Case", "Chain", "Round", "Stage", "registered", "watches"]
