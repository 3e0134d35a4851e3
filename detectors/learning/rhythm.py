"""The ``rhythm`` method of `lifesign learn` (the default): each home's rhythm as hourly weights.

For every household with at least ``min_days`` of history and ten normal silences:

* **activity**: the detector's own activity model (changes of state, water above a
  constant flow), replayed over the history (:func:`detectors.learn.activity`).
* **rhythm**: a weight for every local hour (how much an hour of silence counts),
  from a linear programme: as much weight as possible on the hours the home is
  usually up (where an incapacitation happens, so it is seen soonest), while every
  normal silence of its history (nights, naps, late mornings; silences over 14
  wall-clock hours are absences and left out) stays under ``hours / margin``.
  Weights are rounded *down* to steps of 0.1 (short YAML), so the history still fits;
  k-means groups the homes into a few dozen shared rhythms (shared settings rows).
* **threshold**: ``hours`` weighted hours (2.5 by default), or the home's longest
  weighted normal silence times the margin if that is longer. The margin is
  ``1 + 4 / days of history`` by default (a short history has not yet seen its longest
  silences), widened by a quarter for each false alarm staff recorded at the home.

The ``learn:`` section's budget and bounds are the ``calibrated`` method's; this one keeps
its own settings (:class:`detectors.learn.LearnSettings`).
"""

from __future__ import annotations

from datetime import tzinfo

import numpy as np
import numpy.typing as npt

from detectors.learning.common import History, HomeFit, LearnSettings, outcome_scale
from detectors.thresholds import LearnBudget
from detectors.timeweights import DAY_S, QUARTER_S, QUARTERS, Profiles, utc_offsets

#: weights a learned profile may use (steps of 0.1: short YAML; k-means then shares rhythms)
LEVELS = np.round(np.arange(0.1, 3.05, 0.1), 2)
ABSENCE_GAP_S = 14 * 3600.0


def fit(seen: History, settings: LearnSettings, budget: LearnBudget) -> list[HomeFit]:
    """Every learnable home's threshold and weights (``budget`` is not this method's)."""
    tz, act_h, act_t, first, last = seen.tz, seen.act_h, seen.act_t, seen.first, seen.last
    n = len(first)
    days = np.where(np.isfinite(first), (last - first) / DAY_S, 0.0)
    learnable = days >= settings.min_days
    if not learnable.any():
        return []

    rates = _activity_rates(act_h, act_t, n, days, tz)
    # the home's silences (between consecutive activities); over 14 wall hours is an absence
    same_home = act_h[1:] == act_h[:-1]
    gap_h = act_h[1:][same_home]
    gap_start, gap_end = act_t[:-1][same_home], act_t[1:][same_home]
    normal = (gap_end - gap_start) <= ABSENCE_GAP_S
    gap_h, gap_start, gap_end = gap_h[normal], gap_start[normal], gap_end[normal]
    order = np.argsort(gap_h, kind="stable")
    gap_h, gap_start, gap_end = gap_h[order], gap_start[order], gap_end[order]
    bounds = np.searchsorted(gap_h, np.arange(n + 1))
    homes = [h for h in np.flatnonzero(learnable) if bounds[h + 1] - bounds[h] >= 10]
    if not homes:
        return []
    margins = np.array([settings.margin if settings.margin is not None else 1.0 + settings.margin_days / days[h]
                        for h in homes])
    false_alarms = seen.false_alarms[homes]
    margins *= outcome_scale(false_alarms)
    hourly = np.array([_lp_weights(gap_start[bounds[h]:bounds[h + 1]], gap_end[bounds[h]:bounds[h + 1]],
                                   rates[h], tz, settings, settings.hours / margins[k]) for k, h in enumerate(homes)])
    quantized = LEVELS[np.searchsorted(LEVELS, hourly + 1e-9, side="right") - 1]
    rhythm = np.arange(len(homes))
    if 0 < settings.archetypes < len(homes):
        # K-means groups the rhythms into shared weight profiles (a small settings table for a
        # city); each home's threshold below is then fitted to its own history under its group's weights
        from sklearn.cluster import KMeans  # heavy imports only when learning

        kmeans = KMeans(n_clusters=settings.archetypes, n_init=4, random_state=settings.seed).fit(quantized)
        rhythm = kmeans.labels_
        quantized = LEVELS[np.abs(kmeans.cluster_centers_[:, :, None] - LEVELS).argmin(axis=2)]
    fitted = []
    for k, h in enumerate(homes):
        lo, hi = bounds[h], bounds[h + 1]
        starts, ends = gap_start[lo:hi], gap_end[lo:hi]
        weights = np.repeat(quantized[rhythm[k]], 4)
        weighted = Profiles(weights[None, :]).effective_between(np.zeros(hi - lo, dtype=np.intp), starts, ends, tz)
        longest = float(weighted.max())
        need_h = max(settings.hours, longest * margins[k] / 3600.0)
        hours = float(min(np.ceil(need_h * 4) / 4, settings.max_hours))
        quiet = weights <= 0.25
        reason = (f"{days[h]:.0f} days: longest normal silence {float((ends - starts).max()) / 3600:.1f} h "
                  f"(weighted {longest / 3600:.1f} h), {quiet.sum() / 4:.1f} quiet h a day"
                  + (f", rhythm type {rhythm[k] + 1}" if 0 < settings.archetypes < len(homes) else "")
                  + (f", {false_alarms[k]:.0f} false alarm(s) on record: margin x{margins[k]:.2f}"
                     if false_alarms[k] else ""))
        fitted.append(HomeFit(int(h), hours, weights, reason))
    return fitted


def _lp_weights(starts: npt.NDArray[np.float64], ends: npt.NDArray[np.float64], rates: npt.NDArray[np.float64],
                tz: tzinfo, settings: LearnSettings, budget: float) -> npt.NDArray[np.float64]:
    """Hourly weights that make busy hours count most while every normal silence of the
    history stays under hours / margin (a linear programme)."""
    long_enough = (ends - starts) >= budget / settings.max_weight * 3600.0
    a = starts[long_enough] + utc_offsets(tz, starts[long_enough])
    b = ends[long_enough] + utc_offsets(tz, ends[long_enough])
    hours = np.arange(24) * 3600.0

    def covered(t: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Seconds spent in each local hour of the day from the epoch to t."""
        day, into = np.divmod(t, DAY_S)
        return day[:, None] * 3600.0 + np.clip(into[:, None] - hours[None, :], 0.0, 3600.0)

    overlap = (covered(b) - covered(a)) / 3600.0 if len(a) else np.zeros((0, 24))
    step = np.zeros((48, 24))
    for k in range(24):
        step[2 * k, k], step[2 * k, (k + 1) % 24] = 1.0, -1.0
        step[2 * k + 1, k], step[2 * k + 1, (k + 1) % 24] = -1.0, 1.0
    from scipy.optimize import linprog

    busy = rates.reshape(24, 4).sum(axis=1)
    if settings.objective == "awake":
        busy = (busy >= 0.25 * busy.max()).astype(float)
    busy = busy + 1e-3
    result = linprog(-busy, A_ub=np.vstack([overlap, step]),
                     b_ub=np.concatenate([np.full(len(overlap), budget), np.full(48, settings.max_step)]),
                     bounds=[(settings.min_weight, settings.max_weight)] * 24, method="highs")
    if not result.success:  # a history no weights fit: count every hour the least
        return np.full(24, settings.min_weight)
    return np.asarray(result.x)


def _activity_rates(act_h: npt.NDArray[np.int32], act_t: npt.NDArray[np.float64], n: int,
                    days: npt.NDArray[np.float64], tz: tzinfo) -> npt.NDArray[np.float64]:
    """Per household and local quarter hour: active intervals per day, smoothed over ±30 min."""
    local = act_t + utc_offsets(tz, act_t)
    quarter = ((local % DAY_S) // QUARTER_S).astype(np.intp)
    counts = np.zeros((n, QUARTERS))
    np.add.at(counts, (act_h, quarter), 1.0)
    rates = counts / np.maximum(days, 1.0)[:, None]
    kernel = np.array([1.0, 2.0, 3.0, 2.0, 1.0]) / 9.0
    padded = np.concatenate([rates[:, -2:], rates, rates[:, :2]], axis=1)
    return np.stack([np.convolve(row, kernel, mode="valid") for row in padded]) if n else rates
