"""low_volume: today's programmes' rule, "less than ``max_m3`` of water in ``hours``".

Off unless thresholds.yaml sets it (``low_volume: {water: {max_m3: 0.01, hours: 12}}``):
an operator who must run the city's rule can, beside lifesign's own. A CRITICAL
welfare alert, like ``no_usage``. Its window comes from :mod:`detectors.volume` (never
early, at most a quarter of ``max_m3`` late); readings must confirm it like any
silence. The evidence names the home's last activity by lifesign's own model, so a
reader sees why ``no_usage`` stayed quiet ("little water, but the kettle ran at 07:10").
"""

from __future__ import annotations

import numpy as np

from detectors.rules.base import HouseholdView, Verdicts, last_per_utility
from detectors.state import WATER
from detectors.volume import LEVELS
from lifesign.alerts import Rule, Severity


class LowVolumeRule:
    slot = "low_volume"
    rule = Rule.LOW_VOLUME
    severity = Severity.CRITICAL

    def _windows(self, view: HouseholdView) -> tuple[np.ndarray, np.ndarray]:
        """Per meter of the view: its low-volume window's start and deadline (NaN / inf: off)."""
        start = np.full(len(view.meter), np.nan)
        deadline = np.full(len(view.meter), np.inf)
        volume = view.volume
        limit_s = view.table.volume_s[view.m_row]
        on = np.flatnonzero((view.m_utility == WATER) & np.isfinite(limit_s))
        if volume is None or not len(on):
            return start, deadline
        quantum = view.table.volume_max_m3[view.m_row[on]] / LEVELS
        start[on] = volume.since(view.meter[on], quantum)
        deadline[on] = start[on] + limit_s[on]
        return start, np.where(np.isnan(deadline), np.inf, deadline)

    def evaluate(self, view: HouseholdView) -> Verdicts:
        start, deadline = self._windows(view)
        with np.errstate(invalid="ignore"):
            low = (view.now >= deadline) & (view.m_last_ts >= deadline - view.table.lag_s[view.m_row])
            later = np.isfinite(deadline) & (deadline > view.now)
        next_check = view.min(deadline, later)
        # a trickle moves the window's start quantum by quantum while it stays low: the open
        # episode keeps the start it opened with, and ends only when the volume is back
        open_start = view.open_start(self.slot)
        first = view.min(start, low)
        first = np.where(np.isnan(open_start), first, open_start)
        return Verdicts(view.any(low), first, np.where(np.isnan(next_check), np.inf, next_check), culprits=low)

    def evidence(self, view: HouseholdView, i: int, verdicts: Verdicts) -> dict[str, float]:
        start = float(verdicts.start[i])
        evidence = {
            "window_start": start,
            "threshold_s": float(view.table.volume_s[view.row[i]]),
            "max_m3": float(view.table.volume_max_m3[view.row[i]]),
            "low_volume_for_s": view.now - start,
        }
        # lifesign's own view of the same home: its last sign of life per utility
        evidence.update(last_per_utility(view, i, view.m_last_usage, "last_usage_"))
        return evidence

    def cleared(self, view: HouseholdView, i: int, start: float, utilities: tuple[str, ...]) -> dict[str, float]:
        return {"volume_resumed": float(np.nanmax(view.m_last_ts[view.meters_of(i).start:view.meters_of(i).stop]))}
