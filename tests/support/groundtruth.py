"""The orders a scenario's ground truth calls for, read by the test itself (not by dispatch)."""

from __future__ import annotations

from collections.abc import Iterable

from lifesign.grid import Role
from simulators.cohort import Cohort
from simulators.incidents import Incident


def grid_worker_orders(cohort: Cohort, incidents: Iterable[Incident]) -> set[tuple[str, str, str]]:
    """(household, no_usage, worker) per incident: the one grid worker the roster lists for
    the home's building holds its order first."""
    expected = set()
    for incident in incidents:
        building = cohort.registry.household_by_id(incident.household_id).address.building
        workers = [w.worker_id for w in cohort.roster.workers.values()
                   if w.role is Role.GRID_WORKER and building in w.buildings]
        assert len(workers) == 1, f"building {building} has {len(workers)} grid workers in the roster"
        expected.add((incident.household_id, "no_usage", workers[0]))
    return expected
