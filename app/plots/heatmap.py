"""Weeks to years of one home as a day-by-hour heat map: one row per local day, one column
per hour of the local day, coloured by how many readings showed activity in that hour (grey:
no readings). A home's rhythm shows as a band; a silence as a white stretch, outlined in the
alert's colour from its start to its end, with a triangle where the alert was raised."""

from __future__ import annotations

from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from app.messages import Messages
from app.plots.household import HouseholdHistory, span_label
from app.plots.style import DPI, RULE_COLOURS, font_rc, pyplot

WIDTH_IN = 16.0
#: 300 px of axes, labels and legend, 10 px a day, at most 2400 px (a year: 6 px a day)
BASE_PX, DAY_PX, MAX_PX = 300, 10, 2400


def activity_grid(history: HouseholdHistory) -> tuple[list[date], npt.NDArray[np.float64]]:
    """(local days, days x 24 activity counts, NaN where no meter reported in the hour).

    A reading counts in the hour its interval ends in (one ending on the hour: the hour before)."""
    tz = history.tz
    first = _local(history.first + 1.0, tz).date()
    last = _local(history.last - 1.0, tz).date()
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    counts = np.zeros((len(days), 24))
    covered = np.zeros((len(days), 24), dtype=bool)
    for series in history.meters:
        row, hour = _cells(series.ts - 1.0, tz, first)
        covered[row, hour] = True
        row, hour = _cells(series.activity_ts - 1.0, tz, first)
        np.add.at(counts, (row, hour), 1.0)
    return days, np.where(covered, counts, np.nan)


def draw_heatmap(history: HouseholdHistory, out: Path, say: Messages) -> None:
    plt = pyplot()
    days, grid = activity_grid(history)
    height_px = min(BASE_PX + DAY_PX * len(days), MAX_PX)
    with plt.rc_context(font_rc(say.language)):
        fig, ax = plt.subplots(figsize=(WIDTH_IN, height_px / DPI), dpi=DPI, layout="constrained")
        colours = plt.get_cmap("Greens").with_extremes(bad="0.75")  # grey: no readings in the hour
        image = ax.imshow(np.ma.masked_invalid(grid), aspect="auto", cmap=colours, interpolation="nearest",
                          extent=(0, 24, len(days), 0), vmin=0)
        image.set_gid("activity-heatmap")
        fig.colorbar(image, ax=ax, pad=0.01, fraction=0.03).set_label(say("plot.heatmap_colour"))
        _mark_alerts(ax, history, days[0], len(days), say)
        ax.set_xticks(range(0, 25, 3), [f"{h:02d}:00" for h in range(0, 25, 3)])
        ax.set_xlabel(say("plot.hour_axis", zone=history.zone))
        every = max(1, len(days) // 30)
        ax.set_yticks([i + 0.5 for i in range(0, len(days), every)],
                      [days[i].strftime(say("plot.day_format")) for i in range(0, len(days), every)], fontsize=8)
        ax.set_title(say("plot.heatmap_title", household=history.household_id, first=days[0].isoformat(),
                         last=days[-1].isoformat()), loc="left", fontsize=11)
        labelled = dict(zip(*reversed(ax.get_legend_handles_labels()), strict=True))
        if labelled:
            fig.legend(labelled.values(), labelled.keys(), loc="outside lower center", ncols=min(len(labelled), 4),
                       fontsize=9, frameon=False)
        fig.savefig(out, dpi=DPI)
        plt.close(fig)


def _mark_alerts(ax: Any, history: HouseholdHistory, first: date, rows: int, say: Messages) -> None:
    from matplotlib.patches import Rectangle

    tz = history.tz
    for span in history.spans:
        colour = RULE_COLOURS.get(span.rule, "tab:purple")
        label = span_label(span, say)
        for row, x0, x1 in _day_pieces(span.start, span.end, tz, first):
            if 0 <= row < rows:
                ax.add_patch(Rectangle((x0, row), x1 - x0, 1.0, fill=False, edgecolor=colour, lw=1.8,
                                       ls=":" if span.warning else "-", label=label, gid=f"silence:{span.rule}"))
                label = "_"  # one legend entry per span is enough
        row, hour = _position(span.raised, tz, first)
        ax.plot(hour, row + 0.5, "v", color=colour, mec="black", ms=8, label=say("plot.alert"), gid="alert-raised")
    label = say("plot.away")
    for start, end in history.absences:  # a line through the rows of the days away
        for row, x0, x1 in _day_pieces(start, end, tz, first):
            if 0 <= row < rows:
                ax.plot([x0, x1], [row + 0.5, row + 0.5], color="tab:cyan", lw=3, solid_capstyle="butt",
                        label=label, gid="ground-truth-away")
                label = "_"
    for start, kind in history.incidents:
        row, hour = _position(start, tz, first)
        ax.plot(hour, row + 0.5, "X", color="black", mec="white", ms=10, label=say("plot.truth", kind=say.word("kind", kind)),
                gid="ground-truth")


def _day_pieces(start: float, end: float, tz: tzinfo, first: date) -> list[tuple[int, float, float]]:
    """[start, end) cut at local midnights: (row, from hour, to hour) per day it touches."""
    pieces = []
    row, hour = _position(start, tz, first)
    end_row, end_hour = _position(end, tz, first)
    while row < end_row:
        pieces.append((row, hour, 24.0))
        row, hour = row + 1, 0.0
    if end_hour > hour:
        pieces.append((row, hour, end_hour))
    return pieces


def _position(t: float, tz: tzinfo, first: date) -> tuple[int, float]:
    """(row, hour of the local day as a fraction) of an instant."""
    moment = _local(t, tz)
    return (moment.date() - first).days, moment.hour + moment.minute / 60.0 + moment.second / 3600.0


def _cells(ts: npt.NDArray[np.float64], tz: tzinfo, first: date) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    local = pd.to_datetime(ts, unit="s", utc=True).tz_convert(tz)
    days = (local.normalize().tz_localize(None) - pd.Timestamp(first)).days
    return np.asarray(days, dtype=np.intp), np.asarray(local.hour, dtype=np.intp)


def _local(t: float, tz: tzinfo) -> datetime:
    return datetime.fromtimestamp(t, tz)


__all__ = ["activity_grid", "draw_heatmap"]
