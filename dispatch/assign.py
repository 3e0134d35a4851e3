"""Assign: who answers an order at each escalation level, and how urgent it is.

A household's welfare order climbs grid worker → grid leader → duty desk (each the
one on duty, or their backup) → the resident's emergency contact. A meter fault goes
to maintenance → duty desk; an infrastructure order (a storm) to the grid leader (or
maintenance for dead meters) → duty desk.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from dispatch.escalation import area_chain, escalation_chain, maintenance_chain
from dispatch.mutes.records import area_of
from lifesign.alerts import Rule
from lifesign.grid import Household, Role, Tier, Worker
from lifesign.registry import Registry
from lifesign.roster import Roster

#: worker id prefix of a resident's emergency contact at the end of a chain
CONTACT_PREFIX = "contact:"
_ORDER_OF_TIERS = (Tier.RED, Tier.YELLOW, Tier.GREEN)


def order_tier(rule: str, household_tier: Tier, severity: str = "critical", waited: bool = False) -> Tier:
    """The tier that sets an order's deadline and suggested action. ``waited``: the detector
    held the alarm for a power-meter-only home's floor (evidence ``electricity_only_s``).

    >>> order_tier("continuous_flow", Tier.GREEN).value, order_tier("abnormal_high", Tier.RED).value
    ('red', 'green')
    >>> order_tier("no_usage", Tier.RED, "warning").value, order_tier("no_usage", Tier.GREEN).value
    ('yellow', 'green')
    >>> order_tier("no_usage", Tier.GREEN, waited=True).value
    'red'
    """
    if rule == Rule.CONTINUOUS_FLOW.value:
        return Tier.RED  # water running on: a fall in the shower, a flood
    if waited and rule == Rule.NO_USAGE.value and severity != "warning":
        return Tier.RED  # a day and a half of silence already: no "visit before the end of the day"
    if rule == Rule.ABNORMAL_HIGH.value:
        return Tier.GREEN
    if severity == "warning":  # one utility silent, the others alive: one step less urgent
        return _ORDER_OF_TIERS[min(_ORDER_OF_TIERS.index(household_tier) + 1, 2)]
    return household_tier


def most_urgent(tiers: list[Tier]) -> Tier:
    return min(tiers, key=_ORDER_OF_TIERS.index) if tiers else Tier.YELLOW


def contact_phone(contact: str) -> str:
    """
    >>> contact_phone("Wang Jr. +86 137 0000 0001"), contact_phone("no phone")
    ('+86 137 0000 0001', '')
    """
    found = re.search(r"\+?\d[\d \-]{5,}\d", contact)
    return found.group(0) if found else ""


def _contact_worker(household_id: str, contact: str) -> Worker:
    # Role has no member for relatives; the duty desk role is the nearest (see the note)
    return Worker(f"{CONTACT_PREFIX}{household_id}", contact, Role.DUTY_DESK, contact_phone(contact) or contact)


class Assigner:
    def __init__(self, roster: Roster, registry: Registry, emergency_contact_step: bool = True) -> None:
        self.roster = roster
        self.registry = registry
        self.emergency_contact_step = emergency_contact_step

    def chain(self, subject: str, rule: str, at: float | None) -> list[Worker]:
        """Everyone who may hold the order, level 0 first."""
        area = area_of(subject)
        if area is not None:
            community, grid = self.area_place(*area)
            return area_chain(self.roster, community, grid, at,
                              maintenance=rule.startswith(f"infrastructure:{Rule.METER_OFFLINE.value}"))
        household = self.registry.household_by_id(subject)
        if rule in (Rule.METER_OFFLINE.value, Rule.METER_STUCK.value):
            return maintenance_chain(self.roster, household, at)
        chain = escalation_chain(self.roster, household, at)
        if chain and self.emergency_contact_step and household.resident.emergency_contact.strip():
            chain.append(self.contact(household))
        return chain

    def responsible(self, subject: str, rule: str, at: float) -> Worker:
        chain = self.chain(subject, rule, at)
        if not chain:
            raise LookupError(f"No worker in the roster covers {subject!r} for {rule}")
        return chain[0]

    def recipient(self, worker_id: str) -> Worker:
        if worker_id.startswith(CONTACT_PREFIX):
            return self.contact(self.registry.household_by_id(worker_id[len(CONTACT_PREFIX):]))
        return self.roster.get(worker_id)

    @staticmethod
    def contact(household: Household) -> Worker:
        return _contact_worker(household.household_id, household.resident.emergency_contact)

    @staticmethod
    def contact_in_ticket(worker_id: str, ticket: Mapping[str, Any]) -> Worker | None:
        """A relative named by the frozen ticket of their home's order: how an instance
        delivers for a home another partition watches (not in its registry)."""
        resident = ticket.get("resident")
        household_id = worker_id[len(CONTACT_PREFIX):]
        if (not worker_id.startswith(CONTACT_PREFIX) or ticket.get("household_id") != household_id
                or not isinstance(resident, Mapping) or not str(resident.get("emergency_contact", "")).strip()):
            return None
        return _contact_worker(household_id, str(resident["emergency_contact"]))

    def area_place(self, scope: str, area: str) -> tuple[str, str]:
        """(community, grid) of a building or grid, from its first registered home."""
        column = self.registry.building if scope == "building" else self.registry.grid
        hits = np.flatnonzero(column == area)
        if not len(hits):
            raise LookupError(f"No registered household is in {scope} {area!r}")
        i = int(hits[0])
        return str(self.registry.community[i]), str(self.registry.grid[i])

    def homes_in(self, scope: str, area: str) -> list[Household]:
        column = self.registry.building if scope == "building" else self.registry.grid
        return [self.registry.household(int(i)) for i in np.flatnonzero(column == area)]
