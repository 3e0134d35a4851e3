"""From per-hour silence tails to ``hours`` + ``windows``: spend the false-alarm budget where
it buys the most detection time.

1. *Allowed lengths.* For each local start hour b, the real silence x_b the home may keep
   before the alarm. Expected alarms per day are sum_b C_b(x_b) (C_b: silences started at b
   longer than x, per day); expected delay is sum_b p_b x_b (p_b: how much the home is up at
   b, where an incapacitation would start a silence). A Lagrange multiplier, found by
   bisection, gives each hour the length where one more hour of waiting stops buying enough
   fewer alarms: short where silences are normally short, long over the night.
2. *Weights.* A linear programme per home gives each local hour a weight so that every
   allowed silence stays under the threshold and as close to it as the others allow (see
   :func:`shape_from_lengths`); ``hours`` is then the largest weighted length of an allowed
   silence, so every silence shorter than its start hour's x_b passes, by construction.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from detectors.learning.silences import HOURS, LENGTHS_H
from detectors.timeweights import QUARTERS

F8 = npt.NDArray[np.float64]
PER_HOUR = QUARTERS // HOURS


def allowed_lengths(exceed: F8, up: F8, per_day: float, lo_h: float, hi_h: float) -> F8:
    """(home, 24) allowed silence by start hour, from (home, 24, lengths) tails per day and
    (home, 24) incident weights, within [lo_h, hi_h] real hours, at most ``per_day`` alarms."""
    grid = (LENGTHS_H >= lo_h - 1e-9) & (LENGTHS_H <= hi_h + 1e-9)
    lengths, tails = LENGTHS_H[grid], exceed[..., grid]
    n = len(exceed)

    def choose(lam: F8) -> tuple[F8, F8]:
        cost = up[:, :, None] * lengths[None, None, :] + lam[:, None, None] * tails
        pick = cost.argmin(axis=2)
        spent = np.take_along_axis(tails, pick[..., None], axis=2)[..., 0].sum(axis=1)
        return lengths[pick], spent

    lo, hi = np.full(n, -6.0), np.full(n, 8.0)  # log10 of the multiplier
    for _ in range(40):  # bisection: the smallest multiplier within the budget
        mid = (lo + hi) / 2
        _, spent = choose(10.0 ** mid)
        within = spent <= per_day
        hi = np.where(within, mid, hi)
        lo = np.where(within, lo, mid)
    x, spent = choose(10.0 ** hi)
    # a budget even the longest silences break (never: absences are left out): wait longest
    return np.where((spent <= per_day * (1 + 1e-9))[:, None], x, hi_h)


def quarter_lengths(allowed: F8) -> F8:
    """(home, 96): the allowed silence of a start in each quarter hour (its hour's)."""
    return np.repeat(allowed, PER_HOUR, axis=1)


def shape_from_lengths(allowed: F8, up: F8, max_h: float) -> F8:
    """(home, 96) weights in (0, 1], one per local hour, from a linear programme per home.

    Every allowed silence stays under the threshold (weighted length <= 1), and as close to
    it as the others allow, weighted by how much the home is up when it starts: the alarm
    comes as soon after each hour's allowed silence as the other hours' silences permit (a
    silence that starts at 08:00 and may last 11 h spans the afternoon: the afternoon's
    weight is then shared between them). Weights of at least 1 / max_h keep every deadline
    within max_h; the result is scaled so the heaviest hour weighs 1."""
    from scipy.optimize import linprog  # heavy imports only when learning

    starts = np.arange(QUARTERS) / PER_HOUR            # start of each quarter, in hours
    hours = np.arange(2 * HOURS, dtype=np.float64)     # hour variables, two days unrolled
    out = np.empty((len(allowed), QUARTERS))
    for k in range(len(allowed)):
        end = starts + np.repeat(allowed[k], PER_HOUR)
        # hours of each variable's hour inside [start, end), folded back onto one day
        inside = np.clip(np.minimum(end[:, None], hours[None, :] + 1) - np.maximum(starts[:, None], hours[None, :]), 0, 1)
        a = inside[:, :HOURS] + inside[:, HOURS:]
        gain = np.repeat(up[k], PER_HOUR) @ a
        result = linprog(-gain, A_ub=a, b_ub=np.ones(QUARTERS), bounds=[(1.0 / max_h, PER_HOUR)] * HOURS,
                         method="highs")
        w = np.asarray(result.x) if result.success else np.full(HOURS, 1.0 / max_h)
        out[k] = np.repeat(w / w.max(), PER_HOUR)
    return out


def window_sums(shape: F8, lengths_q: F8) -> F8:
    """(home, 96): weighted hours from each quarter's start over the next ``lengths_q`` quarters
    (local time, wrapping days; daylight saving is the detector's, not the plan's)."""
    n = len(shape)
    days = int(np.ceil(lengths_q.max(initial=0) / QUARTERS)) + 2
    cum = np.zeros((n, QUARTERS * days + 1))
    cum[:, 1:] = np.cumsum(np.tile(shape, days), axis=1) / PER_HOUR
    q = np.arange(QUARTERS)[None, :]
    end = q + lengths_q
    whole = np.floor(end).astype(np.intp)
    part = end - whole
    rows = np.arange(n)[:, None]
    at_end = cum[rows, whole] + part * (cum[rows, np.minimum(whole + 1, cum.shape[1] - 1)] - cum[rows, whole])
    return at_end - cum[rows, q]


def hours_for(shape: F8, allowed: F8) -> F8:
    """(home,) the threshold (weighted hours) that lets every allowed silence pass under ``shape``."""
    return window_sums(shape, quarter_lengths(allowed) * PER_HOUR).max(axis=1)


def scaled(shape: F8, hours: F8, scale: float | F8, min_h: float, max_h: float) -> tuple[F8, F8]:
    """(shape, hours) with the threshold scaled by ``scale`` and every deadline still within
    [min_h, max_h]: quiet hours are raised to hours / max_h (a silence all in them alarms at
    max_h), and the threshold is at least the heaviest min_h-long stretch."""
    wanted = np.minimum(hours * scale, max_h)
    shape = np.maximum(shape, wanted[:, None] / max_h)
    lo = window_sums(shape, np.full(shape.shape, min_h * PER_HOUR)).max(axis=1)
    return shape, np.maximum(wanted, lo)
