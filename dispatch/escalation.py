"""Who answers an alert, level by level: dispatch's policy over the roster's data.

The escalation chain of a household is its building's grid worker, its grid's
leader, its community's duty desk; at each level a worker who is off duty (outside
every shift, or on leave) is replaced by their backup (and the backup's backup) who
is on duty. If nobody in that line is on duty, the worker keeps it (and the order
escalates on its deadline as usual). Dispatch adds the resident's emergency contact
after the duty desk.
"""

from __future__ import annotations

from lifesign.grid import Household, Role, Worker
from lifesign.roster import Duty, Roster


def stand_in(roster: Roster, worker: Worker, at: float | None) -> Worker:
    """The worker, or the first backup down their line who is on duty at ``at``."""
    if at is None:
        return worker
    seen: set[str] = set()
    current: Worker | None = worker
    while current is not None and current.worker_id not in seen:
        if roster.on_duty(current.worker_id, at):
            return current
        seen.add(current.worker_id)
        backup = roster.duty.get(current.worker_id, Duty()).backup
        current = roster.workers.get(backup) if backup else None
    return worker


def escalation_chain(roster: Roster, household: Household, at: float | None = None) -> list[Worker]:
    """Grid worker → grid leader → duty desk, skipping levels nobody covers; with
    ``at``, each level is whoever stands in for it at that time (shifts, leave, backup),
    so one person may stand at two levels."""
    a = household.address
    return _chain(roster, [_covering(roster, Role.GRID_WORKER, a.building),
                           _covering(roster, Role.GRID_LEADER, a.grid),
                           _covering(roster, Role.DUTY_DESK, a.community)], at)


def area_chain(roster: Roster, community: str, grid: str, at: float | None = None,
               maintenance: bool = False) -> list[Worker]:
    """An infrastructure job: grid leader (or maintenance) → duty desk."""
    first = (maintenance_for(roster, community, grid, None) if maintenance
             else _covering(roster, Role.GRID_LEADER, grid))
    return _chain(roster, [first, _covering(roster, Role.DUTY_DESK, community)], at)


def maintenance_chain(roster: Roster, household: Household, at: float | None = None) -> list[Worker]:
    """A meter or gateway fault: maintenance covering the home → duty desk."""
    a = household.address
    return _chain(roster, [maintenance_for(roster, a.community, a.grid, a.building),
                           _covering(roster, Role.DUTY_DESK, a.community)], at)


def maintenance_for(roster: Roster, community: str, grid: str, building: str | None) -> Worker | None:
    for worker in roster.workers.values():
        if worker.role is Role.MAINTENANCE and (
                (building is not None and building in worker.buildings)
                or grid in worker.grids or community in worker.communities):
            return worker
    return None


def responsible_for(roster: Roster, household: Household, at: float | None = None) -> Worker:
    """The first level of the household's chain."""
    chain = escalation_chain(roster, household, at)
    if not chain:
        raise LookupError(
            f"No worker in the roster covers household {household.household_id!r} "
            f"(building {household.address.building!r}, grid {household.address.grid!r}, "
            f"community {household.address.community!r})"
        )
    return chain[0]


def _chain(roster: Roster, levels: list[Worker | None], at: float | None) -> list[Worker]:
    # One entry per level that someone covers, so a level keeps its position whoever is
    # on duty: a chain folded by shifts would make escalation skip a level when a shift
    # changes. A backup standing in for two levels appears twice; escalation passes over
    # a level its holder already holds.
    return [stand_in(roster, worker, at) for worker in levels if worker is not None]


def _covering(roster: Roster, role: Role, area: str) -> Worker | None:
    for worker in roster.workers.values():
        if worker.role is role and area in _coverage(worker, role):
            return worker
    return None


def _coverage(worker: Worker, role: Role) -> tuple[str, ...]:
    return {
        Role.GRID_WORKER: worker.buildings,
        Role.GRID_LEADER: worker.grids,
        Role.DUTY_DESK: worker.communities,
        Role.MAINTENANCE: worker.communities + worker.grids + worker.buildings,
    }[role]


__all__ = ["area_chain", "escalation_chain", "maintenance_chain", "maintenance_for", "responsible_for",
           "stand_in"]
