"""Plots of one household for `lifesign backtest --plot`, in the home's local time.

Up to :data:`HEATMAP_AFTER_DAYS` days: a timeline per meter (:mod:`app.plots.timeline`);
longer: a day-by-hour heat map of activity (:mod:`app.plots.heatmap`), where a year of
alerts stays readable.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from app.messages import Messages
from app.plots.heatmap import draw_heatmap
from app.plots.household import HouseholdHistory, household_history
from app.plots.timeline import draw_timeline
from detectors.thresholds import Thresholds
from lifesign.alerts import Alert
from lifesign.readings import ReadingBatch
from lifesign.registry import Registry

HEATMAP_AFTER_DAYS = 14.0


def plot_household(registry: Registry, batch: ReadingBatch, alerts: list[Alert], household_id: str,
                   thresholds: Thresholds, out: Path, say: Messages, truth: pd.DataFrame | None = None) -> HouseholdHistory:
    """Draw ``household_id``'s history with its alerts into the PNG ``out``; the history drawn."""
    history = household_history(registry, batch, alerts, household_id, thresholds, truth)
    if history.last - history.first > HEATMAP_AFTER_DAYS * 86400.0:
        draw_heatmap(history, out, say)
    else:
        draw_timeline(history, out, say)
    return history


__all__ = ["HEATMAP_AFTER_DAYS", "plot_household"]
