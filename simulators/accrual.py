"""Usage per reporting round, from events and rates, for a block of homes at once.

Two kinds of usage, both as (homes × items) numpy arrays:

* **instant events** (a flush, a tap, a kettle's litres): ``t`` and ``amount``;
  an event counts in the round whose [start, end) holds it.
* **rates** (watts of a fridge, litres per hour of a leak) as *change points*: at
  time ``t`` the rate changes by ``delta``. An episode [s, e) at rate r is two
  change points, (s, +r) and (e, -r). The amount in round k is
  ``rate at its start × length + Σ delta × (round end - t)`` over the changes inside
  it, so one ``bincount`` per kind does every home and every round together.

:class:`Windows` holds per-home time intervals (absences, an incapacitated
resident) and answers "is this event inside one?" for whole arrays with one
``searchsorted``: the key ``row × span + (t - origin)`` sorts every home's
intervals after the previous home's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class RoundGrid:
    """``n`` reporting rounds of ``interval_s`` from ``start``: round k is [start + k·I, start + (k+1)·I)."""

    start: float
    interval_s: float
    n: int

    @property
    def end(self) -> float:
        return self.start + self.n * self.interval_s


def _rows(shape: tuple[int, ...]) -> IntArray:
    return np.broadcast_to(np.arange(shape[0], dtype=np.int64)[:, None], shape)


def accrue_events(t: FloatArray, amount: FloatArray, grid: RoundGrid) -> FloatArray:
    """(homes, rounds) sums of instant events; events outside the grid are ignored."""
    m = t.shape[0]
    rel = (t - grid.start) / grid.interval_s
    ok = (rel >= 0.0) & (rel < grid.n) & (amount != 0.0)
    flat = _rows(t.shape)[ok] * grid.n + np.floor(rel[ok]).astype(np.int64)
    return np.bincount(flat, weights=amount[ok], minlength=m * grid.n).astype(np.float64, copy=False).reshape(m, grid.n)


def accrue_rates(t: FloatArray, delta: FloatArray, grid: RoundGrid) -> FloatArray:
    """(homes, rounds) integrals (rate × seconds) of rates given as change points.

    Changes before the grid count from its start; changes at or after its end are ignored.
    """
    return accrue_rate_parts([(t, delta)], grid)


def accrue_rate_parts(parts: list[tuple[FloatArray, FloatArray]], grid: RoundGrid) -> FloatArray:
    """:func:`accrue_rates` over several (t, delta) arrays of the same homes, without joining them."""
    m = parts[0][0].shape[0]
    flats, deltas, fractions = [], [], []
    for t, delta in parts:
        width = t.shape[1]
        # Most columns are episodes that did not happen today (delta 0): drop them first.
        at = np.flatnonzero(((delta != 0.0) & (t < grid.end)).ravel())
        rel = np.maximum((t.ravel()[at] - grid.start) / grid.interval_s, 0.0)
        k = rel.astype(np.int64)  # floor: rel >= 0
        flats.append((at // width) * grid.n + k)
        deltas.append(delta.ravel()[at])
        fractions.append((k + 1) - rel)
    flat, d = np.concatenate(flats), np.concatenate(deltas)
    slope = np.bincount(flat, weights=d, minlength=m * grid.n).reshape(m, grid.n)
    partial = np.bincount(flat, weights=d * np.concatenate(fractions), minlength=m * grid.n).reshape(m, grid.n)
    rate_at_start = np.cumsum(slope, axis=1) - slope
    # Rounded to 1e-6 units: sums of +r and -r in another order leave 1e-11 crumbs.
    return np.round((rate_at_start + partial) * grid.interval_s, 6)


def episode_parts(start: FloatArray, end: FloatArray, rate: FloatArray) -> list[tuple[FloatArray, FloatArray]]:
    """Episodes [start, end) at ``rate`` as two change-point arrays (an ``inf`` end never stops)."""
    r = np.where((end > start) & (rate != 0.0), rate, 0.0)
    finite = np.isfinite(end)
    return [(start, r), (np.where(finite, end, start), np.where(finite, -r, 0.0))]


def episodes_to_changes(start: FloatArray, end: FloatArray, rate: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Episodes [start, end) at ``rate`` as change points (an ``inf`` end never stops)."""
    (t0, d0), (t1, d1) = episode_parts(start, end, rate)
    return np.concatenate([t0, t1], axis=1), np.concatenate([d0, d1], axis=1)


def zero_between(t: FloatArray, delta: FloatArray, off_start: FloatArray, off_end: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Rates forced to 0 in [off_start, off_end) per home (NaN: not affected): a supply cut.

    Changes inside the cut are dropped; at its start the rate falls to 0 and at its end
    it comes back to what it would have been. Only the affected rows are touched.
    """
    rows = np.flatnonzero(~np.isnan(off_start))
    extra_t = np.zeros((t.shape[0], 2))
    extra_d = np.zeros((t.shape[0], 2))
    if len(rows):
        tr, dr = t[rows], delta[rows]
        a, b = off_start[rows][:, None], off_end[rows][:, None]
        rate_a = np.where(tr < a, dr, 0.0).sum(axis=1)
        rate_b = np.where(tr < b, dr, 0.0).sum(axis=1)
        delta = delta.copy()
        delta[rows] = np.where((tr >= a) & (tr < b), 0.0, dr)
        extra_t[rows, 0], extra_t[rows, 1] = a[:, 0], np.where(np.isfinite(b[:, 0]), b[:, 0], a[:, 0])
        extra_d[rows, 0], extra_d[rows, 1] = -rate_a, np.where(np.isfinite(b[:, 0]), rate_b, 0.0)
    return np.concatenate([t, extra_t], axis=1), np.concatenate([delta, extra_d], axis=1)


class Windows:
    """Non-overlapping time intervals per home (row), searchable for whole arrays at once."""

    def __init__(self, rows: IntArray, start: FloatArray, end: FloatArray, origin: float, span: float) -> None:
        self.origin = float(origin)
        self.span = float(span)
        rows = np.asarray(rows, dtype=np.int64)
        s = np.clip(np.asarray(start, dtype=np.float64) - origin, 0.0, span - 1.0)
        e = np.clip(np.asarray(end, dtype=np.float64) - origin, 0.0, span - 1.0)
        key_s = rows * span + s
        order = np.argsort(key_s, kind="stable")
        self._start = key_s[order]
        self._end = (rows * span + e)[order]
        self.count = len(order)
        #: the rows (homes) that have at least one interval
        self.rows = np.unique(rows)

    @classmethod
    def empty(cls) -> Windows:
        return cls(np.zeros(0, np.int64), np.zeros(0), np.zeros(0), 0.0, 1.0)

    def _row_ids(self, t: FloatArray, rows: IntArray | None) -> IntArray:
        return _rows(t.shape) if rows is None else np.broadcast_to(np.asarray(rows, dtype=np.int64)[:, None], t.shape)

    def _keys(self, t: FloatArray, rows: IntArray | None = None) -> FloatArray:
        return np.asarray(self._row_ids(t, rows) * self.span + np.clip(t - self.origin, 0.0, self.span - 1.0), dtype=np.float64)

    def inside(self, t: FloatArray, rows: IntArray | None = None) -> BoolArray:
        """Where ``t`` (homes × items, NaN allowed) falls inside one of its row's intervals;
        ``rows`` names the row of each line of ``t`` when it is a subset."""
        if not self.count:
            return np.zeros(t.shape, dtype=bool)
        key = self._keys(np.nan_to_num(t, nan=self.origin), rows)
        j = np.searchsorted(self._start, key, side="right") - 1
        hit = (j >= 0) & (key < self._end[np.maximum(j, 0)])
        return hit & ~np.isnan(t)

    def next_start(self, t: FloatArray, rows: IntArray | None = None) -> FloatArray:
        """Start (epoch seconds) of the row's first interval starting after ``t``, else inf."""
        if not self.count:
            return np.full(t.shape, np.inf)
        row_ids = self._row_ids(t, rows)
        key = self._keys(np.nan_to_num(t, nan=self.origin), rows)
        j = np.searchsorted(self._start, key, side="right")
        nxt = self._start[np.minimum(j, self.count - 1)]
        same_row = (j < self.count) & (nxt < (row_ids + 1) * self.span)
        return np.where(same_row, nxt - row_ids * self.span + self.origin, np.inf)

    def clip_episodes(self, start: FloatArray, end: FloatArray, rows: IntArray | None = None) -> tuple[FloatArray, FloatArray]:
        """Episodes starting inside an interval vanish; the others end when the next one begins."""
        if not self.count:
            return start, end
        gone = self.inside(start, rows)
        new_end = np.minimum(end, self.next_start(start, rows))
        return start, np.where(gone, start, new_end)


__all__ = [
    "RoundGrid",
    "Windows",
    "accrue_events",
    "accrue_rate_parts",
    "accrue_rates",
    "episode_parts",
    "episodes_to_changes",
    "zero_between",
]
