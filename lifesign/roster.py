"""Who covers which part of the grid.

``roster.yaml``::

    workers:
      - id: gw-zhang            # unique
        name: Zhang Wei
        role: grid_worker        # grid_worker | grid_leader | duty_desk | maintenance
        phone: "+86 138 0000 0001"
        buildings: [B001, B002]  # grid workers cover buildings
      - id: gl-li
        name: Li Na
        role: grid_leader
        phone: "+86 138 0000 0002"
        grids: [G01]             # grid leaders cover grids
      - id: desk-c1
        name: Community C1 duty desk
        role: duty_desk
        phone: "+86 21 0000 0000"
        communities: [C1]        # duty desks (and maintenance) cover communities

The escalation chain of a household is its building's grid worker, its grid's
leader, its community's duty desk.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lifesign.config.errors import ConfigError
from lifesign.config.source import ConfigNode, load_yaml, parse_yaml
from lifesign.grid import Household, Role, Worker

_WORKER_KEYS = ("id", "name", "role", "phone", "communities", "grids", "buildings")
_COVERAGE_FIELD = {
    Role.GRID_WORKER: "buildings",
    Role.GRID_LEADER: "grids",
    Role.DUTY_DESK: "communities",
    Role.MAINTENANCE: "communities",
}


@dataclass(frozen=True)
class Roster:
    workers: dict[str, Worker]

    def _covering(self, role: Role, area: str) -> Worker | None:
        for worker in self.workers.values():
            if worker.role is not role:
                continue
            covered = {
                Role.GRID_WORKER: worker.buildings,
                Role.GRID_LEADER: worker.grids,
                Role.DUTY_DESK: worker.communities,
                Role.MAINTENANCE: worker.communities,
            }[role]
            if area in covered:
                return worker
        return None

    def escalation_chain(self, household: Household) -> list[Worker]:
        """Grid worker → grid leader → duty desk, skipping levels nobody covers."""
        a = household.address
        chain = [
            self._covering(Role.GRID_WORKER, a.building),
            self._covering(Role.GRID_LEADER, a.grid),
            self._covering(Role.DUTY_DESK, a.community),
        ]
        return [w for w in chain if w is not None]

    def responsible_for(self, household: Household) -> Worker:
        chain = self.escalation_chain(household)
        if not chain:
            raise LookupError(
                f"No worker in the roster covers household {household.household_id!r} "
                f"(building {household.address.building!r}, grid {household.address.grid!r}, "
                f"community {household.address.community!r})"
            )
        return chain[0]

    def get(self, worker_id: str) -> Worker:
        try:
            return self.workers[worker_id]
        except KeyError:
            raise LookupError(f"No worker by the id of {worker_id!r} is in the roster") from None

    @classmethod
    def load(cls, path: str | Path) -> Roster:
        return cls.from_node(load_yaml(path))

    @classmethod
    def parse(cls, text: str, file: str = "<roster>") -> Roster:
        return cls.from_node(parse_yaml(text, file))

    @classmethod
    def from_node(cls, root: ConfigNode) -> Roster:
        top = root.mapping(["workers"], required=["workers"])
        workers: dict[str, Worker] = {}
        for item in top["workers"].sequence():
            fields = item.mapping(_WORKER_KEYS, required=("id", "name", "role", "phone"))
            worker_id = fields["id"].string()
            if worker_id in workers:
                raise fields["id"].error(f"must be unique, got {worker_id!r} a second time")
            role = Role(fields["role"].choice([r.value for r in Role]))
            coverage = {k: tuple(fields[k].strings()) if k in fields else () for k in ("communities", "grids", "buildings")}
            needed = _COVERAGE_FIELD[role]
            if not coverage[needed]:
                raise item.error(f"is a {role.value} and must list the {needed} it covers")
            workers[worker_id] = Worker(
                worker_id=worker_id,
                name=fields["name"].string(),
                role=role,
                phone=fields["phone"].string(),
                communities=coverage["communities"],
                grids=coverage["grids"],
                buildings=coverage["buildings"],
            )
        return cls(workers)

    def to_yaml_text(self) -> str:
        """Serialise (simulators write the demo's roster with this)."""
        lines = ["workers:"]
        for w in self.workers.values():
            lines.append(f"  - id: {w.worker_id}")
            lines.append(f"    name: {w.name}")
            lines.append(f"    role: {w.role.value}")
            lines.append(f'    phone: "{w.phone}"')
            for key in ("communities", "grids", "buildings"):
                values = getattr(w, key)
                if values:
                    lines.append(f"    {key}: [{', '.join(values)}]")
        return "\n".join(lines) + "\n"


__all__ = ["ConfigError", "Roster"]
