"""Thresholds resolved for every household, as a small deduplicated table.

Most households share their settings (same tier, community and grid, no
override), so each household holds only a row number into a table of distinct
settings; learned overrides are rounded by ``lifesign learn`` so the table stays
far smaller than the city.
"""

from __future__ import annotations

from datetime import tzinfo

import numpy as np
import numpy.typing as npt
import pandas as pd

from detectors.thresholds import Layer, Thresholds, Window
from detectors.timeweights import Profiles, profile_weights
from lifesign.grid import TIER_BY_CODE, UTILITY_CODES, Utility
from lifesign.registry import Registry

F8 = npt.NDArray[np.float64]
N_UTILITIES = len(UTILITY_CODES)


class SettingsTable:
    """One row per distinct resolved :class:`Layer` and meter kit; arrays indexed by row.

    ``electricity_only`` (per row): its homes have no meter but electricity. An hourly power
    meter alone cannot tell a family out for the day from a fall, so their welfare alarms
    wait for the layer's ``no_usage.electricity_only.hours`` (``floor_s``; 0 elsewhere)."""

    def __init__(self, layers: list[Layer], tz: tzinfo, electricity_only: list[bool] | None = None) -> None:
        self.layers = layers
        self.tz = tz
        h = 3600.0
        self.home_s = np.array([lay.no_usage_hours for lay in layers], dtype=np.float64) * h
        alone = electricity_only or [False] * len(layers)
        #: the least real time a silence lasts before a welfare alarm, whatever brings it sooner
        self.floor_s = np.array([(lay.electricity_only_hours or 0.0) * h if only else 0.0
                                 for lay, only in zip(layers, alone, strict=True)], dtype=np.float64)
        self.lag_s = np.array([lay.max_data_lag_minutes for lay in layers], dtype=np.float64) * 60.0
        self.offline_s = np.array([lay.offline_hours for lay in layers], dtype=np.float64) * h
        self.flow_s = np.array([lay.flow_hours for lay in layers], dtype=np.float64) * h
        # a strong flow's path: off (inf) where its hours are 0; the rate is read while observing
        self.strong_flow_s = np.array([(lay.strong_flow_hours or 0.0) * h or np.inf for lay in layers], dtype=np.float64)
        self.strong_flow_lph = np.array([lay.strong_flow_lph if lay.strong_flow_hours else np.inf for lay in layers],
                                        dtype=np.float64)
        self.high_factor = np.array([lay.high_factor for lay in layers], dtype=np.float64)
        self.high_min_m3 = np.array([lay.high_min_m3 for lay in layers], dtype=np.float64)
        self.min_change_w = np.array([lay.min_change_w for lay in layers], dtype=np.float64)
        self.stuck_s = np.array([lay.stuck_hours for lay in layers], dtype=np.float64) * h
        #: how far a home's usual silence may raise its threshold (0: not at all). Rows with
        #: windows too, where the layer with the windows sets it (Layer.over): their weighted
        #: deadline is raised to the routine's in real hours (HouseholdView.threshold_deadline).
        self.adapt_s = np.array([lay.adapt_max_hours or 0.0 for lay in layers], dtype=np.float64) * h
        # left_on: off (inf) where hours is 0; the level is per meter, read while observing
        self.left_on_s = np.array([(lay.left_on_hours or 0.0) * h or np.inf for lay in layers], dtype=np.float64)
        self.left_on_w = np.array([lay.left_on_w if lay.left_on_hours else np.inf for lay in layers], dtype=np.float64)
        # low_volume: off (inf / NaN) unless a layer set both; the quantum is the window state's step
        on = [bool(lay.volume_max_m3) and bool(lay.volume_hours) for lay in layers]
        self.volume_s = np.array([lay.volume_hours * h if ok else np.inf for lay, ok in zip(layers, on, strict=True)],  # type: ignore[operator]
                                 dtype=np.float64)
        self.volume_max_m3 = np.array([lay.volume_max_m3 if ok else np.nan for lay, ok in zip(layers, on, strict=True)],
                                      dtype=np.float64)
        #: per utility code; inf = that utility is not watched on its own. Never shorter than
        #: the whole-home threshold: one utility never alerts before the whole home would.
        self.utility_s = np.full((len(layers), N_UTILITIES), np.inf)
        for row, lay in enumerate(layers):
            for utility, hours in lay.utility_hours or ():
                self.utility_s[row, UTILITY_CODES[utility]] = max(hours * h, self.home_s[row])
        # Rows differ mostly in hours and base load; learned homes share a few dozen rhythms.
        # Each distinct set of windows is one profile (96 weights + cumulative sums, 1.5 kB),
        # so a city of learned homes keeps a few dozen profiles, not one per row.
        windows = [tuple(lay.windows or ()) for lay in layers]
        distinct: dict[tuple[Window, ...], int] = {}
        self.profile_of = np.array([distinct.setdefault(w, len(distinct)) for w in windows], dtype=np.intp)
        self.profiles = Profiles(np.array([profile_weights((w.start_min, w.end_min, w.weight) for w in ws)
                                           for ws in distinct]).reshape(len(distinct), -1))

    def deadline(self, row: npt.NDArray[np.intp], start: F8, amount_s: F8) -> F8:
        """UTC time when a silence from ``start`` reaches ``amount_s`` under each row's windows."""
        return self.profiles.deadline(self.profile_of[row], start, amount_s, self.tz)

    def __len__(self) -> int:
        return len(self.layers)

    @property
    def nbytes(self) -> int:
        arrays = (self.home_s, self.floor_s, self.lag_s, self.offline_s, self.flow_s, self.strong_flow_s, self.strong_flow_lph,
                  self.high_factor, self.high_min_m3,
                  self.min_change_w, self.stuck_s, self.adapt_s, self.left_on_s, self.left_on_w, self.volume_s, self.volume_max_m3, self.utility_s, self.profile_of)
        return sum(a.nbytes for a in arrays) + self.profiles.nbytes

    @property
    def max_lag_s(self) -> float:
        return float(self.lag_s.max(initial=0.0))


def resolve_settings(registry: Registry, thresholds: Thresholds) -> tuple[SettingsTable, npt.NDArray[np.int32]]:
    """The settings table and every household's row in it.

    Raises LookupError naming the file and key when an override names a household,
    community or grid the registry does not have."""
    for key, known, names in (("households", registry.household_index, thresholds.households),
                              ("communities", set(registry.community), thresholds.communities),
                              ("grids", set(registry.grid), thresholds.grids)):
        for name in names:
            if name not in known:
                kind = {"households": "household", "communities": "community", "grids": "grid"}[key]
                raise LookupError(f"{thresholds.source}: {key}.{name} is not a registered {kind}")
    alone = electricity_only(registry)
    # Households without an override share a row per (tier, community, grid, meter kit).
    combo, uniques = pd.factorize(pd.MultiIndex.from_arrays(
        [registry.tier.astype(np.int64), registry.community, registry.grid, alone]))
    rows: dict[tuple[Layer, bool], int] = {}
    layers: list[Layer] = []
    kits: list[bool] = []

    def row_of(layer: Layer, only: bool) -> int:
        if (layer, only) not in rows:
            rows[(layer, only)] = len(layers)
            layers.append(layer)
            kits.append(only)
        return rows[(layer, only)]

    combo_row = np.array([row_of(thresholds.resolve(TIER_BY_CODE[int(t)], str(c), str(g), ""), bool(a))
                          for t, c, g, a in uniques], dtype=np.int32)
    household_row = combo_row[combo] if len(combo) else np.zeros(0, dtype=np.int32)
    for household_id in thresholds.households:
        i = registry.household_index[household_id]
        household_row[i] = row_of(thresholds.resolve(TIER_BY_CODE[int(registry.tier[i])], str(registry.community[i]),
                                                      str(registry.grid[i]), household_id), bool(alone[i]))
    if not layers:  # an empty registry still gets a table
        row_of(thresholds.resolve(TIER_BY_CODE[0], "", "", ""), False)
    return SettingsTable(layers, thresholds.tz(), kits), household_row.astype(np.int32)


def electricity_only(registry: Registry) -> npt.NDArray[np.bool_]:
    """Per household: it has meters, and every one of them is an electricity meter."""
    n = registry.n_households
    meters = np.bincount(registry.meter_household, minlength=n)
    power = np.bincount(registry.meter_household, weights=registry.meter_utility == UTILITY_CODES[Utility.ELECTRICITY],
                        minlength=n)
    return (meters > 0) & (power == meters)
