"""Local-time weights: how much an hour of silence counts, by time of day.

A profile gives each quarter hour of the local day a weight (1 = counts fully,
0.5 = a night hour counts half). The *effective* length of a silence is the
integral of the weight over it; a deadline is where that integral reaches the
threshold. Both are closed-form over a cumulative table, so deadlines are
computed for thousands of households at once when their anchor moves, and a
sweep only compares a precomputed time.

>>> import numpy as np
>>> night = Profiles(np.array([profile_weights([(0, 360, 0.5)])]))   # 00:00-06:00 count half
>>> float(night.deadline(np.array([0]), np.array([22 * 3600.0]), np.array([4 * 3600.0]), 0)[0]) / 3600
28.0
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import tzinfo

import numpy as np
import numpy.typing as npt
import pandas as pd

from lifesign.clock import fixed_offset

F8 = npt.NDArray[np.float64]
QUARTER_S = 900.0
DAY_S = 86400.0
QUARTERS = 96


def profile_weights(windows: Iterable[tuple[int, int, float]]) -> F8:
    """96 quarter-hour weights from (start_min, end_min, weight) windows; later windows win."""
    weights = np.ones(QUARTERS)
    for start_min, end_min, weight in windows:
        a, b = start_min // 15, end_min // 15
        if a < b:
            weights[a:b] = weight
        else:  # wraps past midnight
            weights[a:] = weight
            weights[:b] = weight
    return weights


class Profiles:
    """A table of profiles (rows), each 96 quarter-hour weights (all > 0)."""

    def __init__(self, weights: F8) -> None:
        self.weights = np.asarray(weights, dtype=np.float64).reshape(-1, QUARTERS)
        if not (self.weights > 0).all():
            raise ValueError("every quarter-hour weight must be > 0 (a silence must be able to end)")
        self.cum = np.zeros((len(self.weights), QUARTERS + 1))
        self.cum[:, 1:] = np.cumsum(self.weights * QUARTER_S, axis=1)
        self.total = self.cum[:, QUARTERS]

    @property
    def nbytes(self) -> int:
        return self.weights.nbytes + self.cum.nbytes + self.total.nbytes

    def effective(self, profile: npt.NDArray[np.intp], local_t: F8) -> F8:
        """Effective seconds from the local epoch to ``local_t`` (monotonic in time)."""
        day = np.floor(local_t / DAY_S)
        into = local_t - day * DAY_S
        q = np.minimum((into // QUARTER_S).astype(np.intp), QUARTERS - 1)
        return day * self.total[profile] + self.cum[profile, q] + (into - q * QUARTER_S) * self.weights[profile, q]

    def inverse(self, profile: npt.NDArray[np.intp], effective: F8) -> F8:
        """The local time at which the effective clock reads ``effective``."""
        total = self.total[profile]
        day = np.floor(effective / total)
        rest = effective - day * total
        unique = np.unique(profile)
        if len(unique) <= 64:  # learned homes share 32 rhythms (plus the defaults' few)
            # few distinct profiles (the usual case): a binary search per profile
            q = np.empty(len(profile), dtype=np.intp)
            for p in unique:
                rows = profile == p if len(unique) > 1 else slice(None)
                q[rows] = np.searchsorted(self.cum[p, 1:], rest[rows], side="right")
            q = np.minimum(q, QUARTERS - 1)
        else:
            q = np.minimum((self.cum[profile, 1:] <= rest[:, None]).sum(axis=1), QUARTERS - 1)
        return day * DAY_S + q * QUARTER_S + (rest - self.cum[profile, q]) / self.weights[profile, q]

    def deadline(self, profile: npt.NDArray[np.intp], start: F8, amount_s: F8, tz: tzinfo | float) -> F8:
        """UTC time when a silence from ``start`` (UTC) reaches ``amount_s`` effective seconds.

        NaN starts give NaN; infinite amounts give inf."""
        start = np.asarray(start, dtype=np.float64)
        out = np.full(len(start), np.nan)
        ok = ~np.isnan(start) & np.isfinite(amount_s)
        out[~np.isnan(start) & ~np.isfinite(amount_s)] = np.inf
        if not ok.any():
            return out
        p, s, a = profile[ok], start[ok], amount_s[ok]
        offset = utc_offsets(tz, s)
        end = self.inverse(p, self.effective(p, s + offset) + a) - offset
        # A daylight-saving change inside the silence: a silence is measured in real seconds
        # (weights by local hour), so count up to the change on the old offset and the rest
        # on the new one; the local clock would add or drop an hour of silence.
        changed = np.flatnonzero(utc_offsets(tz, end) != offset)
        if len(changed):
            c = transition(tz, s[changed], end[changed])
            q = p[changed]
            before = self.effective(q, c + offset[changed]) - self.effective(q, s[changed] + offset[changed])
            after_offset = utc_offsets(tz, c)
            local_end = self.inverse(q, self.effective(q, c + after_offset) + a[changed] - before)
            end[changed] = local_end - after_offset
        out[ok] = end
        return out

    def effective_between(self, profile: npt.NDArray[np.intp], start: F8, end: F8, tz: tzinfo | float) -> F8:
        """Effective seconds of a silence from ``start`` to ``end`` (UTC), in real time."""
        start, end = np.asarray(start, dtype=np.float64), np.asarray(end, dtype=np.float64)
        at_start, at_end = utc_offsets(tz, start), utc_offsets(tz, end)
        total = self.effective(profile, end + at_end) - self.effective(profile, start + at_start)
        changed = np.flatnonzero(at_start != at_end)
        if len(changed):
            # the local clock jumped inside: integrate up to the change and from it separately
            c = transition(tz, start[changed], end[changed])
            q = profile[changed] if np.ndim(profile) else profile
            total[changed] = (self.effective(q, c + at_start[changed]) - self.effective(q, start[changed] + at_start[changed])
                              + self.effective(q, end[changed] + at_end[changed]) - self.effective(q, c + utc_offsets(tz, c)))
        return total


def transition(tz: tzinfo | float, lo: F8, hi: F8) -> F8:
    """The first instant in (lo, hi] whose UTC offset differs from lo's (bisection, to the second)."""
    lo, hi = np.array(lo, dtype=np.float64), np.array(hi, dtype=np.float64)
    base = utc_offsets(tz, lo)
    for _ in range(64):  # ~40 halvings reach a second from any span of years
        if not (hi - lo > 1.0).any():
            break
        mid = np.floor((lo + hi) / 2.0)
        moved = utc_offsets(tz, mid) != base
        hi = np.where(moved, mid, hi)
        lo = np.where(moved, lo, mid)
    return hi


def utc_offsets(tz: tzinfo | float, ts: F8) -> F8:
    """Seconds to add to UTC epoch seconds to get local wall-clock seconds."""
    if isinstance(tz, (int, float)):
        return np.full(np.shape(ts), float(tz))
    fixed = fixed_offset(tz)
    if fixed is not None:
        return np.full(np.shape(ts), fixed)
    ts = np.asarray(ts, dtype=np.float64)
    finite = np.isfinite(ts)
    out = np.zeros(np.shape(ts))
    if finite.any():
        stamps = pd.to_datetime(ts[finite], unit="s", utc=True).tz_convert(tz)
        out[finite] = (stamps.tz_localize(None) - stamps.tz_convert(None)).total_seconds().to_numpy()
    return out


def local_day(tz: tzinfo | float, ts: F8) -> F8:
    """Local calendar day number of each UTC time (days since 1970-01-01 local)."""
    return np.floor((ts + utc_offsets(tz, ts)) / DAY_S)
