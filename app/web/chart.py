"""A home's recent water and electricity use as a small inline SVG bar chart.

Inline SVG with presentation attributes only: no script, no CDN, no style attribute
(the desk's Content-Security-Policy forbids inline styles), and it renders in the
WeCom and DingTalk in-app browsers as it does anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo

import numpy as np
from markupsafe import Markup, escape

from lifesign.grid import UTILITY_BY_CODE, Utility
from lifesign.registry import Registry
from lifesign.stores import HistoryStore

#: how a utility's register unit shows on the chart
_SHOWN = {Utility.WATER: ("L", 1000.0, "#2b7bd6"), Utility.ELECTRICITY: ("kWh", 1.0, "#e0a100"),
          Utility.GAS: ("m³", 1.0, "#8a5cc2")}


@dataclass(frozen=True)
class UsageSeries:
    utility: Utility
    unit: str
    #: usage per bin, oldest first
    bins: list[float]


def usage_series(history: HistoryStore, registry: Registry, household_id: str, start: float, end: float,
                 step_s: float = 3600.0) -> list[UsageSeries]:
    """Usage per ``step_s`` bin of each of the home's water and electricity meters."""
    h = registry.household_index[household_id]
    meters = [m for m in registry.meters_of(h)
              if UTILITY_BY_CODE[int(registry.meter_utility[m])] in (Utility.WATER, Utility.ELECTRICITY)]
    # one reading before the window gives the first bin's usage
    batch = history.read(start - 2 * step_s, end)
    n = max(1, int(np.ceil((end - start) / step_s)))
    out = []
    for m in meters:
        mine = batch.take(np.flatnonzero(batch.meter == m))
        order = np.argsort(mine.ts, kind="stable")
        ts, value = mine.ts[order], mine.value[order]
        used = value if registry.meter_interval[m] else np.diff(value, prepend=value[:1])
        used = np.clip(used, 0.0, None)  # a register reset is not negative use
        keep = ts >= start
        index = ((ts[keep] - start) // step_s).astype(np.int64)
        bins = np.bincount(index[index < n], weights=used[keep][index < n], minlength=n)
        utility = UTILITY_BY_CODE[int(registry.meter_utility[m])]
        unit, scale, _ = _SHOWN[utility]
        out.append(UsageSeries(utility, unit, [float(b) * scale for b in bins]))
    return out


def svg_chart(series: list[UsageSeries], start: float, step_s: float, tz: tzinfo, label: dict[str, str],
              width: int = 360, panel: int = 64) -> Markup:
    """One bar panel per utility, labelled with its peak and local times every 12 h."""
    if not series or not any(any(s.bins) for s in series):
        return Markup(f'<p class="muted">{escape(label.get("empty", ""))}</p>')
    n = len(series[0].bins)
    left, gap, top = 4, 18, 14
    height = top + len(series) * (panel + gap) + 8
    bar = (width - left * 2) / n
    parts = [(f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{escape(label.get("title", ""))}" xmlns="http://www.w3.org/2000/svg">')]
    for row, s in enumerate(series):
        y0 = top + row * (panel + gap)
        peak = max(s.bins)
        colour = _SHOWN[s.utility][2]
        parts.append(f'<text x="{left}" y="{y0 - 3}" font-size="10" fill="#444">'
                     f'{escape(label.get(s.utility.value, s.utility.value))} · max {peak:.3g} {s.unit}</text>')
        peak = peak or 1.0
        parts.append(f'<line x1="{left}" y1="{y0 + panel}" x2="{width - left}" y2="{y0 + panel}" '
                     'stroke="#bbb" stroke-width="0.5"/>')
        for i, v in enumerate(s.bins):
            if v <= 0:
                continue
            h = max(1.0, v / peak * panel)
            parts.append(f'<rect x="{left + i * bar:.1f}" y="{y0 + panel - h:.1f}" width="{max(bar - 1, 1):.1f}" '
                         f'height="{h:.1f}" fill="{colour}"/>')
    y_axis = top + len(series) * (panel + gap) - gap + 12
    for i in range(0, n, max(1, int(12 * 3600 // step_s))):
        at = datetime.fromtimestamp(start + i * step_s, tz).strftime("%m-%d %H:%M")
        x = left + i * bar
        parts.append(f'<text x="{x:.1f}" y="{y_axis}" font-size="9" fill="#666">{at}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


__all__ = ["UsageSeries", "svg_chart", "usage_series"]
