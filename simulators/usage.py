"""Usage per round of a block of homes: their day plans, changed by absences and incidents,
accrued into reporting rounds (:mod:`simulators.accrual`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from simulators.accrual import (
    RoundGrid,
    accrue_events,
    accrue_rate_parts,
    accrue_rates,
    episode_parts,
    episodes_to_changes,
    zero_between,
)
from simulators.appliances import automatic_wh
from simulators.cohort import HomeProfiles
from simulators.dayplan import DayPlan
from simulators.effects import Effects, thinned

FloatArray = npt.NDArray[np.float64]
HOUR, DAY = 3600.0, 86400.0


@dataclass(frozen=True)
class Usage:
    """Consumption of every household in one interval (arrays indexed by household),
    or per round ((households, rounds) arrays) from :meth:`Routine.usage_matrix`."""

    water_l: FloatArray
    electricity_wh: FloatArray
    gas_l: FloatArray


def accrue_usage(plans: list[DayPlan], homes: HomeProfiles, fridge_cycles: bool, grid: RoundGrid,
                 block: slice, effects: Effects) -> Usage:
    """Water litres, electricity Wh and gas litres of the homes in ``block`` per round of ``grid``,
    from the day plans of that block that cover the grid."""
    m = block.stop - block.start
    water_t = np.concatenate([p.water_t for p in plans], axis=1)
    water_l = np.concatenate([p.water_l for p in plans], axis=1)
    ep_start = np.concatenate([p.episode_start for p in plans], axis=1)
    ep_end = np.concatenate([p.episode_end for p in plans], axis=1)
    ep_w = np.concatenate([p.episode_w for p in plans], axis=1)
    ep_gas = np.concatenate([p.episode_gas_lph for p in plans], axis=1)
    # Columns wholly outside the grid add nothing: drop them before the heavy work.
    on_grid = (water_t.max(axis=0) >= grid.start) & (water_t.min(axis=0) < grid.end)
    water_t, water_l = water_t[:, on_grid], water_l[:, on_grid]
    on_grid = (ep_end.max(axis=0) > grid.start) & (ep_start.min(axis=0) < grid.end)
    ep_start, ep_end, ep_w, ep_gas = ep_start[:, on_grid], ep_end[:, on_grid], ep_w[:, on_grid], ep_gas[:, on_grid]
    for windows in effects.away:
        if not windows.count:
            continue
        r = windows.rows  # only the homes with an absence or an incident
        water_l[r] = np.where(windows.inside(water_t[r], r), 0.0, water_l[r])
        ep_end[r] = windows.clip_episodes(ep_start[r], ep_end[r], r)[1]
    if effects.thin is not None:
        for a, b, keep in effects.thin.layers(m):
            water_l = np.where(thinned(water_t, a, b, keep), 0.0, water_l)
            gone = thinned(ep_start, a, b, keep)
            ep_end = np.where(gone, ep_start, ep_end)
    # Electricity: appliances, the fridge and the standby (from before the grid, never ending).
    base = homes.standby_w[block] if fridge_cycles else homes.base_load_w[block]
    electric = [*episode_parts(ep_start, ep_end, ep_w), (np.full((m, 1), grid.start - DAY), base[:, None])]
    if effects.power_on is not None:  # loads left on after an incident
        for a, b, watts in effects.power_on.layers(m):
            on = ~np.isnan(a)
            electric.extend(episode_parts(np.where(on, a, 0.0)[:, None], np.where(on, b, 0.0)[:, None],
                                          np.where(on, watts, 0.0)[:, None]))
    if effects.power_off is not None:
        e_t, e_d = np.concatenate([t for t, _ in electric], axis=1), np.concatenate([d for _, d in electric], axis=1)
        for a, b, _ in effects.power_off.layers(m):
            e_t, e_d = zero_between(e_t, e_d, a, b)
        electric = [(e_t, e_d)]
    # Water: instant events plus continuous flows (litres per second).
    w_t, w_d = np.zeros((m, 0)), np.zeros((m, 0))
    if effects.water_flow is not None:
        for a, b, lph in effects.water_flow.layers(m):
            on = ~np.isnan(a)
            t, d = episodes_to_changes(np.where(on, a, 0.0)[:, None], np.where(on, b, 0.0)[:, None],
                                       np.where(on, lph / HOUR, 0.0)[:, None])
            w_t, w_d = np.concatenate([w_t, t], axis=1), np.concatenate([w_d, d], axis=1)
    if effects.water_off is not None:
        for a, b, _ in effects.water_off.layers(m):
            inside = (water_t >= a[:, None]) & (water_t < b[:, None])
            water_l = np.where(inside, 0.0, water_l)
            w_t, w_d = zero_between(w_t, w_d, a, b)
    water = accrue_events(water_t, water_l, grid)
    if w_t.shape[1]:
        flowing = np.flatnonzero((w_d != 0.0).any(axis=1))  # a few homes: running toilets, leaks
        water[flowing] += accrue_rates(w_t[flowing], w_d[flowing], grid)
    gas_homes = homes.has_gas[block]
    gas = np.zeros((m, grid.n))
    if gas_homes.any():  # most homes have no gas meter: skip them
        rows = np.flatnonzero(gas_homes)
        gas[rows] = accrue_rate_parts(episode_parts(ep_start[rows], ep_end[rows], ep_gas[rows]), grid) / HOUR
    electricity_wh = accrue_rate_parts(electric, grid) / HOUR
    if fridge_cycles:
        electricity_wh = electricity_wh + _automatic_wh(homes, grid, block, effects)
    return Usage(water_l=water, electricity_wh=electricity_wh, gas_l=gas)


def _automatic_wh(homes: HomeProfiles, grid: RoundGrid, block: slice, effects: Effects) -> FloatArray:
    """The cycling cold appliances' Wh per round (:mod:`simulators.appliances`), none in a power cut."""
    m = block.stop - block.start
    bounds = np.broadcast_to(grid.start + np.arange(grid.n + 1) * grid.interval_s, (m, grid.n + 1))
    cuts = []
    if effects.power_off is not None:
        for a, b, _ in effects.power_off.layers(m):
            rows = np.flatnonzero(~np.isnan(a))
            cuts.append((rows, np.stack([a[rows], b[rows]], axis=1)))
    return automatic_wh(homes.rows(block), bounds, cuts)


