"""How long since a water meter last used ``max_m3``: the state behind ``low_volume``.

Today's programmes alert on "less than 0.01 m³ of water in 12 h". Evaluated exactly,
that needs every reading of the last 12 h. Instead each water meter keeps the times
its cumulative usage crossed the last ``LEVELS`` multiples of a quantum
``q = max_m3 / LEVELS``. With ``c`` quanta used so far, the crossing of level
``c - LEVELS + 1`` happened no earlier than the instant usage was last ``max_m3``
below today's total, so "nothing that crossing since ``hours``" implies the exact rule
holds: the rule never fires where the exact one would not, and fires at most one
quantum of water (a quarter of ``max_m3``) later.

The arrays exist only while some household's thresholds enable the rule (``LEVELS``
times 8 bytes per meter plus 8: 40 bytes; the detector's 64-byte budget is for the
defaults, where the rule is off). Readings arrive sorted by meter and time.

>>> import numpy as np
>>> v = VolumeWindow(1)
>>> q = np.array([0.0025])   # 0.01 m3 in quarters
>>> v.observe(np.zeros(3, dtype=np.int32), np.array([0.0, 3600.0, 7200.0]), np.array([0.0, 0.004, 0.004]), q)
>>> float(v.since(np.array([0]), q)[0])   # 8 L used: the rule's window starts at the first reading
0.0
>>> v.observe(np.zeros(1, dtype=np.int32), np.array([9000.0]), np.array([0.003]), q)
>>> float(v.since(np.array([0]), q)[0])   # 11 L: the 10 L mark was passed at 1 h (level 1 of 4)
3600.0
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

F8 = npt.NDArray[np.float64]
I4 = npt.NDArray[np.int32]
#: quanta per max_m3 (the rule is conservative by at most one quantum of water)
LEVELS = 4


class VolumeWindow:
    """Per water meter: usage so far (in quanta) and the times of the last level crossings."""

    def __init__(self, n_meters: int) -> None:
        #: water used since the meter's first reading, m³ (backwards registers add nothing)
        self.used = np.zeros(n_meters)
        #: when usage crossed each of the last LEVELS quanta, slot = level % LEVELS (NaN: not yet)
        self.crossed = np.full((n_meters, LEVELS), np.nan)
        #: the meter's first reading (the window's start while less than max_m3 was ever used)
        self.first_ts = np.full(n_meters, np.nan)

    @property
    def nbytes(self) -> int:
        return self.used.nbytes + self.crossed.nbytes + self.first_ts.nbytes

    def observe(self, m: I4, ts: F8, used: F8, quantum: F8) -> None:
        """Add each reading's usage (``used`` >= 0, m³) in time order; ``quantum`` per row."""
        if not len(m):
            return
        np.fmin.at(self.first_ts, m, ts)
        first = np.ones(len(m), dtype=bool)
        first[1:] = m[1:] != m[:-1]
        # running total per meter: the state's total plus this batch's cumulative sum
        total = np.cumsum(used)
        start = np.maximum.accumulate(np.where(first, np.arange(len(m)), 0))
        before_batch = total[start] - used[start]
        after = self.used[m] + total - before_batch
        before = after - used
        level_after = np.floor(after / quantum + 1e-9).astype(np.int64)
        level_before = np.floor(before / quantum + 1e-9).astype(np.int64)
        crossings = np.minimum(level_after - level_before, LEVELS)
        rows = np.repeat(np.arange(len(m)), crossings)
        if len(rows):
            # the levels each row crossed, newest last (only the last LEVELS of them matter)
            offset = np.arange(len(rows)) - np.repeat(np.cumsum(crossings) - crossings, crossings)
            level = level_after[rows] - crossings[rows] + 1 + offset
            key = m[rows].astype(np.int64) * LEVELS + level % LEVELS
            # later crossings of the same slot win: keep each key's last occurrence
            _, last = np.unique(key[::-1], return_index=True)
            keep = len(key) - 1 - last
            self.crossed[m[rows[keep]], level[keep] % LEVELS] = ts[rows[keep]]
        ends = np.ones(len(m), dtype=bool)
        ends[:-1] = m[:-1] != m[1:]
        self.used[m[ends]] = after[ends]

    def since(self, meters: npt.NDArray[np.intp], quantum: F8) -> F8:
        """Per meter, the start of its current low-volume window: the crossing of level
        ``c - LEVELS + 1`` (``c`` quanta used so far), or its first reading before that."""
        level = np.floor(self.used[meters] / quantum + 1e-9).astype(np.int64) - LEVELS + 1
        crossed = self.crossed[meters, np.maximum(level, 0) % LEVELS]
        return np.where(level >= 1, crossed, self.first_ts[meters])
