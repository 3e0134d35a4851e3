"""The storm guard: many homes of one building or grid silent together is a supply or
network fault, not many people in trouble at once.

It looks at the alerts the mute stage has seen, grouped by building and by grid and
by signature (rule + utilities): when, within ``window_s``, at least ``min_homes``
homes and a share of at least ``building_share`` (``grid_share``) of the group's
registered homes have an alert of the same signature that is not cleared, it opens
one storm, and the dispatcher one infrastructure order for it. Only eligible alerts
count and are muted (by default no_usage WARNING, i.e. one utility silent, and
meter_offline): an all-utilities silence (no_usage CRITICAL) is never held back.
A maintenance alert within its :class:`~dispatch.mutes.grace.MaintenanceGrace` does
not count yet: a district draining a day's backlog is not a storm.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from dispatch.mutes.base import MuteStore
from dispatch.mutes.grace import MaintenanceGrace
from dispatch.mutes.records import Storm, TrackedAlert
from lifesign.registry import Registry


@dataclass(frozen=True)
class StormSettings:
    #: rule -> the severities that count; other rules and severities pass straight on
    rules: dict[str, tuple[str, ...]] = field(default_factory=lambda: {
        "no_usage": ("warning",), "meter_offline": ("warning", "critical")})
    min_homes: int = 3
    building_share: float = 0.5
    grid_share: float = 0.5
    window_s: float = 6 * 3600.0
    #: an eligible alert waits this long (Alertmanager's group_wait) for its neighbours
    hold_s: float = 3 * 3600.0

    def __post_init__(self) -> None:
        if self.min_homes < 1:
            raise ValueError(f"storm min_homes must be >= 1, got {self.min_homes!r}")
        for name in ("building_share", "grid_share"):
            value = getattr(self, name)
            if not 0 < value <= 1:
                raise ValueError(f"storm {name} must be > 0 and <= 1, got {value!r}")
        if not self.window_s > 0 or self.hold_s < 0:
            raise ValueError(f"storm window_s must be > 0 and hold_s >= 0, got {self.window_s!r}, {self.hold_s!r}")


class StormGuard:
    def __init__(self, store: MuteStore, registry: Registry, settings: StormSettings,
                 grace: MaintenanceGrace | None = None) -> None:
        self.store = store
        self.settings = settings
        self.grace = MaintenanceGrace() if grace is None else grace
        buildings, counts = np.unique(registry.building.astype(str), return_counts=True)
        self.homes_in_building = dict(zip(buildings.tolist(), counts.tolist(), strict=True))
        grids, counts = np.unique(registry.grid.astype(str), return_counts=True)
        self.homes_in_grid = dict(zip(grids.tolist(), counts.tolist(), strict=True))

    def eligible(self, alert: TrackedAlert) -> bool:
        return alert.severity in self.settings.rules.get(alert.key.rule, ())

    def detect(self, now: float) -> list[Storm]:
        """Open the storms the alerts seen within the window make; returns the new ones."""
        s = self.settings
        since = now - s.window_s
        per_grid: dict[tuple[str, str, str], int] = defaultdict(int)
        per_building: list[tuple[str, str, str, str, int]] = []
        for building, grid, rule, utilities, homes in self.store.candidates(since):
            if rule not in s.rules:
                continue
            per_grid[(grid, rule, utilities)] += homes
            per_building.append((building, grid, rule, utilities, homes))
        opened: list[Storm] = []
        grid_storms: set[tuple[str, str, str]] = {(st.area, st.rule, ",".join(st.utilities))
                                                  for st in self.store.storms() if st.scope == "grid"}
        for (grid, rule, utilities), homes in sorted(per_grid.items()):
            if self._storming(homes, self.homes_in_grid.get(grid, 0), s.grid_share):
                storm = self._open("grid", grid, rule, utilities, since, now, homes, self.homes_in_grid[grid])
                if storm is not None:
                    opened.append(storm)
                grid_storms.add((grid, rule, utilities))
        for building, grid, rule, utilities, homes in sorted(per_building):
            if (grid, rule, utilities) in grid_storms:
                continue  # the grid's order covers this building already
            total = self.homes_in_building.get(building, 0)
            if self._storming(homes, total, s.building_share):
                storm = self._open("building", building, rule, utilities, since, now, homes, total)
                if storm is not None:
                    opened.append(storm)
        return opened

    def _storming(self, homes: int, total: int, share: float) -> bool:
        return total > 0 and homes >= self.settings.min_homes and homes / total >= share

    def _open(self, scope: str, area: str, rule: str, utilities_text: str, since: float, now: float,
              homes: int, total: int) -> Storm | None:
        utilities = tuple(u for u in utilities_text.split(",") if u)
        # homes of a storm that ended (its order resolved) do not make the next one
        ended = self.store.last_storm_end(scope, area, rule, utilities)
        members = [a for a in self.store.open_in(scope, area, rule, utilities, since)
                   if self.eligible(a) and (ended is None or a.first_seen > ended)
                   and not self.grace.waiting(a, now)]
        homes = len({a.key.household_id for a in members})
        if not self._storming(homes, total, self.settings.building_share if scope == "building"
                              else self.settings.grid_share):
            return None
        start = min(a.key.episode_start for a in members)
        storm, created = self.store.open_storm(
            scope, area, rule, utilities, start, now,
            f"{homes} of {total} homes in {scope} {area} with {rule} ({'+'.join(utilities) or 'any'})")
        return storm if created else None

    def members(self, storm: Storm) -> list[TrackedAlert]:
        """The storm's alerts that are not cleared (any time since it began)."""
        return [a for a in self.store.open_in(storm.scope, storm.area, storm.rule, storm.utilities, -1e18)
                if self.eligible(a)]

    def homes_total(self, storm: Storm) -> int:
        table = self.homes_in_building if storm.scope == "building" else self.homes_in_grid
        return int(table.get(storm.area, 0))
