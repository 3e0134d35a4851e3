"""Each home's usual long silence, learned online: a routine is not an emergency.

Real homes keep routines that a city-wide threshold reads as an emergency every day: a
family out from 16:00 to 09:00 all winter, a resident who sleeps late. Per household and
per 4-hour slot of the local time a silence starts in, the detector keeps how long such
silences usually last (one byte: quarter hours). When a silence ends in activity it moves
that estimate, asymmetrically:

* longer than the estimate: a third of the way up (``RAISE``): one long day barely
  counts, the same long silence three days running carries most of the way;
* shorter: a tenth of the way down (``LOWER``): a routine fades over two to three weeks
  once it stops.

A silence is measured between two readings with activity, so it is known only to a reading
interval at each end: one routine read on hourly registers measures 19 h one day and 20 h
the next. What is learned is the measured length plus what the margin does not cover of
that spread (two intervals, :func:`jitter_s`): nothing for readings every 30 minutes or
less, one hour for hourly readings (on the real hourly homes of ``../shared/eval`` this
took welfare false alarms from 177 to 157; the 15-minute cohorts and our simulator are
unchanged).

Only silences of ``MIN_LEARN_H`` up to the home's ``no_usage.adapt.max_hours`` teach
anything: short ones are ordinary life, and one that reaches the cap is an absence or an
incident, never a routine. A silence's threshold is then the configured one, raised to
the usual length of silences starting in its slot plus ``MARGIN_H``, never above the cap.
A new home starts at the configured thresholds (nothing learned: nothing raised); a
routine outside its slot changes nothing (an incident at noon is found as fast as ever).

Why online and not `lifesign learn`: routines change with the seasons (a home silent
16 h a day from November only), and a file reviewed in spring does not know it. The
trade-off: learning reads activity as the readings arrive, so a backlog delivered in one
batch teaches the silences it contains in order, while a restart must not forget:
the service saves the table (``routines.npz`` in its data folder) and restores it before
it rebuilds state from history, which then teaches only the silences that ended after
the save.

Measured on the evaluation data (``benchmarks/detect_quality.py``): welfare false alarms on
real electricity homes fell by about a third, on the independent cohort by a seventh, with
the same recall and median delay.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo

import numpy as np
import numpy.typing as npt

from detectors.timeweights import utc_offsets

F8 = npt.NDArray[np.float64]
H = 3600.0
#: slots of local start time (4 hours each: six bytes a home keep the state within 64 B a
#: meter; 3-hour slots found the same false alarms on the evaluation data, a little faster)
SLOTS = 6
SLOT_S = 86400.0 / SLOTS
#: silences shorter than this are ordinary life and teach nothing
MIN_LEARN_H = 4.0
RAISE = 0.34
LOWER = 0.1
#: the threshold stays this far above the usual silence
MARGIN_H = 1.0
#: the coarsest reading interval taken as a meter's resolution (hourly registers)
MAX_RESOLUTION_S = 3600.0
#: the stored unit (one byte: up to 63.75 h)
UNIT_H = 0.25


def jitter_s(interval_s: F8) -> F8:
    """How much longer than measured a routine silence may measure next time, beyond what
    ``MARGIN_H`` covers: both its ends are seen to one reading interval, so one routine's
    silences spread over two intervals (0 for readings of up to ``MARGIN_H / 2``). An
    interval longer than ``MAX_RESOLUTION_S`` is a gap in the data, not the meter's resolution.

    >>> [float(x) for x in jitter_s(np.array([900.0, 1800.0, 3600.0, 36000.0, np.nan]))]
    [0.0, 0.0, 3600.0, 3600.0, 0.0]
    """
    with np.errstate(invalid="ignore"):
        resolution = np.minimum(interval_s, MAX_RESOLUTION_S)
        return np.where(resolution > 0, np.maximum(0.0, 2.0 * resolution - MARGIN_H * H), 0.0)


def slot_of(ts: F8, tz: tzinfo | float) -> npt.NDArray[np.intp]:
    """The slot of local time each UTC time falls in."""
    local = (np.asarray(ts, dtype=np.float64) + utc_offsets(tz, ts)) % 86400.0
    return np.minimum((local // SLOT_S).astype(np.intp), SLOTS - 1)


class UsualSilences:
    """Per household: its usual long silence per start slot (the last activity before a
    batch comes from the meters' state, so it costs nothing here)."""

    def __init__(self, n_households: int) -> None:
        #: usual silence per start slot, in quarter hours (0: nothing learned)
        self.usual = np.zeros((n_households, SLOTS), dtype=np.uint8)
        #: the newest activity learned from (what a saved copy has seen)
        self.newest = float("-inf")
        #: silences ending at or before this were learned before a restart: not again
        self.skip_until = float("-inf")

    @property
    def nbytes(self) -> int:
        return self.usual.nbytes

    def learn(self, households: npt.NDArray[np.integer], times: F8, before: F8, cap_s: F8,
              tz: tzinfo | float, interval_s: F8 | None = None) -> None:
        """Learn from one batch's activity (household, time). Per activity: ``before``, its
        household's last activity before this batch (NaN: none), ``cap_s``, the longest
        silence that still teaches there (0: learning off), and ``interval_s``, the reading
        interval it was seen in (None or NaN: finer than the margin's resolution)."""
        if not len(households):
            return
        h = np.asarray(households, dtype=np.intp)
        t = np.asarray(times, dtype=np.float64)
        order = np.lexsort((t, h))
        h, t = h[order], t[order]
        cap, previous = np.asarray(cap_s, dtype=np.float64)[order], np.asarray(before, dtype=np.float64)[order]
        interval = np.zeros(len(t)) if interval_s is None else np.asarray(interval_s, dtype=np.float64)[order]
        # each activity's previous one: the one before it in the batch, else the one before the batch
        later = np.r_[False, h[1:] == h[:-1]]
        previous = np.where(later, np.fmax(np.r_[np.nan, t[:-1]], previous), previous)
        self.newest = max(self.newest, float(t.max()))
        with np.errstate(invalid="ignore"):
            length = t - previous
            teach = (length >= MIN_LEARN_H * H) & (length < cap) & (t > self.skip_until)
        if not teach.any():
            return
        sh, slot, hours = h[teach], slot_of(previous[teach], tz), (length + jitter_s(interval))[teach] / H
        # a household's silences apply in time order: one per household per round
        while len(sh):
            first_of = np.flatnonzero(np.r_[True, sh[1:] != sh[:-1]])  # sh is sorted
            self._move(sh[first_of], slot[first_of], hours[first_of])
            rest = np.ones(len(sh), dtype=bool)
            rest[first_of] = False
            sh, slot, hours = sh[rest], slot[rest], hours[rest]

    def _move(self, h: npt.NDArray[np.intp], slot: npt.NDArray[np.intp], hours: F8) -> None:
        now = self.usual[h, slot].astype(np.float64) * UNIT_H
        moved = np.where(hours > now, now + (hours - now) * RAISE, now - (now - hours) * LOWER)
        self.usual[h, slot] = np.clip(np.round(moved / UNIT_H), 0, 255).astype(np.uint8)

    def threshold_s(self, h: npt.NDArray[np.intp], start: F8, cap_s: F8, tz: tzinfo | float) -> F8:
        """The threshold this home's routine sets for silences starting at ``start``, in real
        seconds: the usual silence of their slot plus the margin, never above ``cap_s``; 0 where
        nothing is learned (the configured threshold holds, and may count weighted hours)."""
        if not len(h):
            return np.zeros(0)
        usual = self.usual[h, slot_of(np.nan_to_num(start), tz)].astype(np.float64) * UNIT_H
        raised = np.where(usual > 0, (usual + MARGIN_H) * H, 0.0)
        return np.minimum(raised, cap_s)


@dataclass(frozen=True)
class Routines:
    """What a detector learned of its homes' routines, by household id (to save and restore
    across a restart; the registry may have changed in between)."""

    household_ids: npt.NDArray[np.str_]
    usual: npt.NDArray[np.uint8]
    #: the newest activity learned from
    learned_until: float


def restore(into: UsualSilences, household_index: dict[str, int], saved: Routines) -> int:
    """Copy ``saved`` into ``into`` for the households still registered; the count restored.
    Silences ending at or before ``saved.learned_until`` are not learned again."""
    if saved.usual.shape[1:] != (SLOTS,):
        raise ValueError(f"saved routines have {saved.usual.shape[1:]} slots a home, expected {SLOTS}")
    known = [(household_index[str(h)], k) for k, h in enumerate(saved.household_ids) if str(h) in household_index]
    if known:
        rows, saved_rows = (np.array(c, dtype=np.intp) for c in zip(*known, strict=True))
        into.usual[rows] = saved.usual[saved_rows]
    into.skip_until = max(into.skip_until, saved.learned_until)
    into.newest = max(into.newest, saved.learned_until)
    return len(known)
