"""Absences and source artefacts that the readings of a real home show, found without lifesign.

Real homes carry no ground truth, but a family away leaves a clear trace. Definitions,
tuned by looking at the daily profiles of ``../shared/eval/real`` (hourly electricity
of 9 homes in 2016, minutely water of 3 homes in March 2015):

* **electricity**: at least 36 h in which every hour's power stays at or below the home's
  base load + 60 W and no hour rises more than 40 W over the hour before. The base load
  is the 5th percentile of hourly power over the 15 days around the hour: it is seasonal
  (one home's base is 10 W in summer and about 330 W in winter, when a ~380 W load runs
  day and night; another rises from 60 W to 650 W in December).
* **water**: at least 24 h without a single litre.
* **filled gaps** (artefacts): at least 24 h in which the register climbs in a straight
  line: every hour's usage within one register step (0.01 kWh) of every other and the
  register never more than one step off the line through the stretch's ends, at a level
  above the home's all-year base load + 60 W. One home shows 543 W (540, 540, 550, ...)
  for seven weeks: a linear fill by the source. A straight line at the base level is an
  empty home at the meter's 10 W resolution, not an artefact, and counts as an absence.
  Water: at least 3 h of exactly the same non-zero usage every minute.
* absences less than 3 h apart are one absence (a timer or a blip between two quiet spells).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

H = 3600.0


@dataclass(frozen=True)
class ElectricityAbsenceRule:
    min_hours: float = 36.0
    band_w: float = 60.0
    max_rise_w: float = 40.0
    base_quantile: float = 0.05
    base_window_days: float = 15.0
    merge_gap_hours: float = 3.0


@dataclass(frozen=True)
class ArtefactRule:
    min_hours: float = 24.0
    #: the most an interval's usage may differ from the others of a fill (one register step)
    tolerance: float = 0.01


def hourly_power_w(ts: npt.NDArray[np.float64], kwh: npt.NDArray[np.float64]) -> tuple[
        npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """(interval start, interval end, mean W) of consecutive register readings."""
    dt = np.diff(ts)
    return ts[:-1], ts[1:], np.round(np.diff(kwh) * 3.6e6 / dt, 6)


def rolling_base_w(start: npt.NDArray[np.float64], power: npt.NDArray[np.float64],
                   rule: ElectricityAbsenceRule) -> npt.NDArray[np.float64]:
    """The home's base load around each interval (a low percentile over a centred window);
    NaN power (an artefact) is left out."""
    series = pd.Series(power, index=pd.to_datetime(start, unit="s"))
    window = f"{rule.base_window_days:g}D"
    base = series.rolling(window, center=True, min_periods=24).quantile(rule.base_quantile)
    return base.bfill().ffill().to_numpy()


def _runs(flags: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
    """[first, last] index pairs of the runs of True."""
    padded = np.r_[False, flags, False].astype(np.int8)
    edges = np.diff(padded)
    return [(int(a), int(b)) for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1, strict=True)]


def electricity_absences(ts: npt.NDArray[np.float64], kwh: npt.NDArray[np.float64],
                         rule: ElectricityAbsenceRule = ElectricityAbsenceRule(),
                         artefacts: ArtefactRule = ArtefactRule()) -> list[tuple[float, float]]:
    """(start, end) of every visible absence in one meter's hourly register readings
    (filled gaps are neither absence nor part of the base load)."""
    if len(ts) < 3:
        return []
    lo, hi, power = hourly_power_w(ts, kwh)
    filled = electricity_fill_mask(ts, kwh, rule, artefacts)
    base = rolling_base_w(lo, np.where(filled, np.nan, power), rule)
    quiet = (power <= base + rule.band_w + 1e-6) & ~filled
    rise = np.r_[0.0, np.diff(power)]
    # a quiet hour that rises too much over the hour before starts a new run
    breaks = quiet & (rise > rule.max_rise_w + 1e-6)
    found = []
    for first, last in _runs(quiet):
        cuts = [first, *[int(k) for k in np.flatnonzero(breaks[first:last + 1]) + first if k > first], last + 1]
        for a, b in itertools.pairwise(cuts):
            if hi[b - 1] - lo[a] >= rule.min_hours * H:
                found.append((float(lo[a]), float(hi[b - 1])))
    return merge_close(found, rule.merge_gap_hours * H)


def merge_close(spans: list[tuple[float, float]], gap_s: float) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for a, b in sorted(spans):
        if merged and a - merged[-1][1] <= gap_s:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged


def water_absences(ts: npt.NDArray[np.float64], m3: npt.NDArray[np.float64],
                   min_hours: float = 24.0) -> list[tuple[float, float]]:
    """(last use, next use) of every stretch of at least ``min_hours`` without water."""
    used = np.flatnonzero(np.diff(m3) > 1e-9) + 1  # readings that show usage since the one before
    if len(used) < 2:
        return []
    # the silence starts at the last reading that still showed usage, ends at the next one
    start, end = ts[used[:-1]], ts[used[1:] - 1]
    keep = end - start >= min_hours * H
    return [(float(a), float(b)) for a, b in zip(start[keep], end[keep], strict=True)]


def fill_mask(ts: npt.NDArray[np.float64], register: npt.NDArray[np.float64], min_hours: float,
              tolerance: float, floor: float = 0.0) -> npt.NDArray[np.bool_]:
    """Per interval, whether it lies in a filled gap: a stretch of at least ``min_hours`` where
    every interval's usage is within ``tolerance`` of every other and above ``floor`` (in
    register units per interval)."""
    usage = np.diff(register)
    mask = np.zeros(len(usage), dtype=bool)
    k = 0
    while k < len(usage):
        if usage[k] <= max(floor, 1e-9):
            k += 1
            continue
        lo_v = hi_v = usage[k]
        j = k + 1
        # greedy: extend while the stretch's usage stays within one step
        while j < len(usage) and usage[j] > floor and max(hi_v, usage[j]) - min(lo_v, usage[j]) <= tolerance + 1e-9:
            lo_v, hi_v = min(lo_v, usage[j]), max(hi_v, usage[j])
            j += 1
        # and the register must climb in a straight line (a real steady load drifts off it)
        line = np.interp(ts[k:j + 1], [ts[k], ts[j]], [register[k], register[j]])
        if ts[j] - ts[k] >= min_hours * H and np.abs(register[k:j + 1] - line).max() <= tolerance + 1e-9:
            mask[k:j] = True
        k = j
    return mask


def electricity_fill_mask(ts: npt.NDArray[np.float64], kwh: npt.NDArray[np.float64],
                          rule: ElectricityAbsenceRule = ElectricityAbsenceRule(),
                          artefacts: ArtefactRule = ArtefactRule()) -> npt.NDArray[np.bool_]:
    if len(ts) < 3:
        return np.zeros(max(len(ts) - 1, 0), dtype=bool)
    _, _, power = hourly_power_w(ts, kwh)
    # above the all-year base band: a quiet home's steady base is not a fill
    floor_w = float(np.quantile(power, rule.base_quantile)) + rule.band_w
    dt = float(np.median(np.diff(ts)))
    return fill_mask(ts, kwh, artefacts.min_hours, artefacts.tolerance, floor_w * dt / 3.6e6)


def spans_of(mask: npt.NDArray[np.bool_], ts: npt.NDArray[np.float64]) -> list[tuple[float, float]]:
    """(start, end) of the runs of flagged intervals (interval k spans ts[k]..ts[k + 1])."""
    return [(float(ts[a]), float(ts[b + 1])) for a, b in _runs(mask)]


def electricity_filled_gaps(ts: npt.NDArray[np.float64], kwh: npt.NDArray[np.float64],
                            rule: ElectricityAbsenceRule = ElectricityAbsenceRule(),
                            artefacts: ArtefactRule = ArtefactRule()) -> list[tuple[float, float]]:
    return spans_of(electricity_fill_mask(ts, kwh, rule, artefacts), ts)


def water_filled_gaps(ts: npt.NDArray[np.float64], m3: npt.NDArray[np.float64],
                      min_hours: float = 3.0) -> list[tuple[float, float]]:
    return spans_of(fill_mask(ts, m3, min_hours, 0.0), ts)
