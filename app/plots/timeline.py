"""A few days of one home, one panel per meter, in the home's local time: what each reading
used, the threshold activity had to pass, when the detector saw activity, and each alert
shaded from the start of its silence to its end, with the moment it was raised."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from app.messages import Messages
from app.plots.household import HouseholdHistory, MeterSeries, span_label
from app.plots.style import DPI, RULE_COLOURS, date_x, font_rc, pyplot

WIDTH_IN, PANEL_HEIGHT_IN = 16.0, 3.0


def draw_timeline(history: HouseholdHistory, out: Path, say: Messages) -> None:
    plt = pyplot()
    panels = len(history.meters)
    with plt.rc_context(font_rc(say.language)):
        fig, axes = plt.subplots(panels, 1, figsize=(WIDTH_IN, PANEL_HEIGHT_IN * panels), dpi=DPI, sharex=True,
                                 squeeze=False, layout="constrained")
        for ax, series in zip(axes[:, 0], history.meters, strict=True):
            _meter_panel(ax, series, history, say)
            # the meter's own lines beside its panel; what all panels share once, on top
            ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
            _mark_alerts(ax, history, say)
        _time_axis(axes[-1, 0], history, say)
        labelled: dict[str, Any] = {}
        for ax in axes[:, 0]:
            for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
                labelled.setdefault(label, handle)
        shared = {label: handle for label, handle in labelled.items() if _shared(handle.get_gid() or "")}
        fig.legend(shared.values(), shared.keys(), loc="outside upper center", ncols=max(1, min(len(shared), 5)),
                   fontsize=9, frameon=False)
        fig.savefig(out, dpi=DPI)
        plt.close(fig)


def _shared(gid: str) -> bool:
    """Artists every panel has alike (the alerts, the ground truth): one legend for the figure."""
    return gid.startswith("silence:") or gid in ("alert-raised", "ground-truth", "ground-truth-away")


def _meter_panel(ax: Any, series: MeterSeries, history: HouseholdHistory, say: Messages) -> None:
    x = date_x(series.ts)
    utility = say(f"plot.{series.utility}")
    if series.utility == "electricity":
        ax.fill_between(x, series.power_w, step="pre", color="0.82", lw=0, label=say("plot.power"))
        ax.step(x, series.change_w, where="pre", color="tab:purple", lw=0.8, label=say("plot.change"))
        threshold_label = say("plot.change_threshold", watts=series.threshold, minutes=series.usual_interval_s / 60)
        ax.set_ylabel("W")
    else:
        ax.step(x, series.usage, where="pre", color="tab:blue", lw=0.8, label=say("plot.litres", utility=utility))
        threshold_label = say("plot.volume_threshold", litres=series.threshold)
        ax.set_ylabel("L")
    ax.axhline(series.threshold, ls="--", lw=1.2, color="tab:red", label=threshold_label, gid="activity-threshold")
    # a rug along the bottom: every reading the detector took as a sign of life
    ax.plot(date_x(series.activity_ts), np.full(len(series.activity_ts), 0.03), "|", color="tab:green", ms=9,
            mew=1.2, transform=ax.get_xaxis_transform(), label=say("plot.activity"), gid="activity")
    ax.set_ylim(bottom=0)
    ax.set_title(say("plot.panel", household=history.household_id, meter=series.meter_id, utility=utility),
                 loc="left", fontsize=10)
    ax.grid(axis="x", color="0.9", lw=0.6)


def _mark_alerts(ax: Any, history: HouseholdHistory, say: Messages) -> None:
    from matplotlib.colors import to_rgba

    for span in history.spans:
        colour = RULE_COLOURS.get(span.rule, "tab:purple")
        start, raised, end = date_x([span.start, span.raised, span.end])
        # a critical alert filled, a warning (one utility silent) hatched
        ax.axvspan(start, end, facecolor=to_rgba(colour, 0.0 if span.warning else 0.16),
                   edgecolor=to_rgba(colour, 0.5), hatch="//" if span.warning else None, lw=0,
                   label=span_label(span, say), gid=f"silence:{span.rule}")
        ax.axvline(raised, color=colour, lw=1.6, label=say("plot.alert"), gid="alert-raised")
    for start, end in history.absences:
        ax.axvspan(*date_x([start, end]), facecolor=to_rgba("tab:cyan", 0.1), edgecolor=to_rgba("tab:cyan", 0.6),
                   hatch="\\", lw=0, label=say("plot.away"), gid="ground-truth-away")
    for start, kind in history.incidents:
        ax.axvline(date_x([start])[0], color="black", ls=":", lw=1.4,
                   label=say("plot.truth", kind=say.word("kind", kind)), gid="ground-truth")


def _time_axis(ax: Any, history: HouseholdHistory, say: Messages) -> None:
    from matplotlib import dates

    tz = history.tz
    days = (history.last - history.first) / 86400.0
    if days <= 2:
        major: Any = dates.HourLocator(byhour=range(0, 24, 3), tz=tz)
        formatter = dates.DateFormatter("%H:%M", tz=tz)
    else:
        major = dates.DayLocator(interval=max(1, int(days // 10)), tz=tz)
        formatter = dates.DateFormatter(say("plot.day_format"), tz=tz)
    ax.xaxis.set_major_locator(major)
    ax.xaxis.set_major_formatter(formatter)
    ax.xaxis.set_minor_locator(dates.HourLocator(byhour=range(0, 24, 6), tz=tz))
    first, last = date_x([history.first, history.last])
    ax.set_xlim(first - 0.004 * (last - first), last)  # a tick at the very first midnight stays
    ax.set_xlabel(say("plot.time_axis", zone=history.zone))


__all__ = ["draw_timeline"]
