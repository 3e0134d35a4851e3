"""What the service checks at start, in one place, so `lifesign config check site.yaml`
finds exactly what `lifesign run` would: errors that stop it, warnings it logs."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from app.partitions import PartitionSettings, check_partitions
from detectors.settings import resolve_settings
from detectors.thresholds import Thresholds
from lifesign.grid import Role
from lifesign.registry import Registry
from lifesign.roster import Roster


def check_site(registry: Registry, roster: Roster, thresholds: Thresholds,
               partitions: Mapping[str, PartitionSettings] | None = None) -> list[str]:
    """Raise what stops the service (LookupError: a thresholds override names a household,
    grid or community not in the registry; a partition names an unknown community or
    splits a gateway); return the warnings it logs."""
    table, rows = resolve_settings(registry, thresholds)  # the detector resolves the same table at start
    return [*check_partitions(registry, partitions or {}), *uncovered_buildings(registry, roster),
            *held_power_only_homes(table.floor_s[rows])]


def held_power_only_homes(floor_s: npt.NDArray[np.float64]) -> list[str]:
    """One line per floor: how many homes with no meter but electricity wait that long before
    a welfare alarm (`no_usage.electricity_only`). Not an error: the operator must know."""
    hours = Counter(float(f) / 3600.0 for f in floor_s if f > 0)
    return [f"{n} household(s) with no meter but electricity: no welfare alarm before {h:g} h of silence "
            f"(no_usage.electricity_only; `~` turns it off)" for h, n in sorted(hours.items())]


def uncovered_buildings(registry: Registry, roster: Roster) -> list[str]:
    """One warning per building whose households no grid worker covers: their orders skip
    the welfare visit's first level and go straight to the grid leader or the duty desk."""
    covered = {b for w in roster.workers.values() if w.role is Role.GRID_WORKER for b in w.buildings}
    homes = Counter(str(b) for b in registry.building)
    return [f"building {b!r} ({n} households) has no grid worker in the roster: its orders go to the grid "
            f"leader or the duty desk first" for b, n in sorted(homes.items()) if b not in covered]


__all__ = ["check_site", "held_power_only_homes", "uncovered_buildings"]
