"""A home's normal silences (between consecutive activities) and how often they run long.

The table learning works on: per home and per fold of its days, how many silences that
started in each local hour lasted longer than each length of a grid (0 to 24 h in quarter
hours). Silences of ``absence_hours`` or more are absences: every allowed threshold alarms
on them, so they are counted apart and left out of the tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo

import numpy as np
import numpy.typing as npt

from detectors.timeweights import DAY_S, utc_offsets

F8 = npt.NDArray[np.float64]
I8 = npt.NDArray[np.intp]
#: silence lengths the tables know (hours): 0, 0.25, ... 24
LENGTHS_H = np.arange(0.0, 24.001, 0.25)
HOURS = 24


@dataclass(frozen=True)
class Silences:
    """Every silence of every home, with its start hour, fold and length."""

    home: I8          # household index
    start: F8         # UTC seconds
    end: F8
    start_hour: I8    # local hour of the start, 0..23
    fold: I8          # which block of the home's days the start lies in
    absence: npt.NDArray[np.bool_]

    def take(self, rows: npt.NDArray[np.bool_]) -> Silences:
        return Silences(self.home[rows], self.start[rows], self.end[rows], self.start_hour[rows], self.fold[rows],
                        self.absence[rows])

    @property
    def length_h(self) -> F8:
        return (self.end - self.start) / 3600.0


def silences_of(act_h: npt.NDArray[np.int32], act_t: F8, first: F8, days: F8, tz: tzinfo,
                folds: int, absence_hours: float) -> Silences:
    """The silences between consecutive activities of each home (activity sorted by home, time).

    Folds are contiguous blocks of each home's days (the later block is held out as the
    service would meet it: after the days it learned from)."""
    same = act_h[1:] == act_h[:-1]
    home = act_h[1:][same].astype(np.intp)
    start, end = act_t[:-1][same], act_t[1:][same]
    local = start + utc_offsets(tz, start)
    start_hour = ((local % DAY_S) // 3600.0).astype(np.intp)
    into = (start - first[home]) / (np.maximum(days[home], 1e-9) * DAY_S)
    fold = np.clip((into * folds).astype(np.intp), 0, folds - 1)
    absence = (end - start) >= absence_hours * 3600.0
    return Silences(home, start, end, start_hour, fold, absence)


def exceedance_counts(s: Silences, n_homes: int, folds: int) -> F8:
    """(home, fold, start hour, length): silences longer than each length (absences left out)."""
    keep = ~s.absence
    # index of the first grid length a silence does not exceed: it exceeds every one before
    reach = np.searchsorted(LENGTHS_H, s.length_h[keep], side="left")
    counts = np.zeros((n_homes, folds, HOURS, len(LENGTHS_H) + 1))
    np.add.at(counts, (s.home[keep], s.fold[keep], s.start_hour[keep], reach), 1.0)
    # exceeds length g  <=>  reach > g: a reverse cumulative sum over the grid
    return np.cumsum(counts[..., ::-1], axis=-1)[..., ::-1][..., 1:]


def start_counts(s: Silences, n_homes: int, folds: int) -> F8:
    """(home, fold, start hour): silences (of any length) that started then: the home is up."""
    counts = np.zeros((n_homes, folds, HOURS))
    np.add.at(counts, (s.home, s.fold, s.start_hour), 1.0)
    return counts


def smooth_hours(table: F8, axis: int = -2) -> F8:
    """Spread each start hour a quarter to each neighbour (around midnight): bedtimes move by an hour."""
    return 0.5 * table + 0.25 * (np.roll(table, 1, axis=axis) + np.roll(table, -1, axis=axis))
