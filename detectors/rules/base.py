"""The interface every detector rule implements, and the view it reads.

A sweep gathers the households due for a look into one :class:`HouseholdView`
(their settings and their meters, flattened). A rule answers, for all of them at
once: is this household in an episode, since when, about which utilities, and
when must a sweep look again if no new data arrives. Opening and clearing alerts
is the detector's job, not the rule's (scoring vs deciding).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

import numpy as np
import numpy.typing as npt

from detectors.settings import SettingsTable
from detectors.state import USAGE_UNIT, HouseholdState, MeterState
from lifesign.alerts import Rule, Severity
from lifesign.grid import UTILITY_BY_CODE

F8 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Verdicts:
    #: households (view positions) in an episode now
    flagged: B
    #: episode start per household (epoch s; from the data, never from the sweep time)
    start: F8
    #: when to look again without new data (inf: only new data can change the verdict)
    next_check: F8
    #: per view position, the meters (flat view positions) the episode is about
    culprits: B | None = None


class HouseholdView:
    """The due households and their meters, gathered once per sweep."""

    def __init__(self, households: npt.NDArray[np.intp], meters: MeterState, homes: HouseholdState,
                 table: SettingsTable, now: float, open_starts: dict[str, dict[int, float]]) -> None:
        self.h = households
        self.now = now
        self.table = table
        self.row = homes.settings_row[households].astype(np.intp)
        self.confirmed = homes.confirmed(households)
        self.first_seen = homes.first_seen(households)
        picked, owner, offsets = homes.gather(households)
        self.meter = picked
        self.owner = owner.astype(np.intp)
        self.offsets = offsets
        self.m_utility = meters.utility[picked].astype(np.intp)
        self.m_last_ts = meters.last_ts[picked]
        self.m_last_usage = meters.last_usage(picked)
        #: how long a load has been left on at each meter, up to its last reading (0: none)
        self.m_left_on_s = meters.left_on_s(picked)
        self._meters = meters  # for what only evidence reads (the quiet level), not every sweep
        self.m_flow_run = meters.flow_run_s[picked].astype(np.float64)
        self.m_strong_run = meters.strong_run_s(picked)
        self.m_rate = meters.rate[picked].astype(np.float64)
        self.m_stuck_h = meters.stuck_h[picked].astype(np.float64)
        self.volume = meters.volume
        self.m_day_usage = meters.day_usage[picked].astype(np.float64) * USAGE_UNIT
        days = meters.norm_days[picked].astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            self.m_norm = np.where(days > 0, meters.norm_total[picked] * USAGE_UNIT / days, np.nan)
        self.m_norm_days = days
        self.m_row = self.row[self.owner]
        with np.errstate(invalid="ignore"):
            #: the home's last activity over all its meters, else its first reading
            self.last_usage = np.fmax.reduceat(self.m_last_usage, offsets) if len(picked) else np.zeros(0)
        self.anchor = np.where(np.isnan(self.last_usage), self.first_seen, self.last_usage)
        #: the threshold this home's routine sets for this silence, in real seconds (0: none
        #: learned, or adapt off; detectors.usual), apart from the configured one, which
        #: windows may count in weighted hours
        self.routine_s = homes.usual.threshold_s(households, self.anchor, table.adapt_s[self.row], table.tz)
        #: the whole home's threshold for this silence (for evidence; weighted hours where the
        #: home has windows and its routine does not raise it)
        self.home_threshold_s = np.maximum(np.maximum(table.home_s[self.row], self.routine_s), table.floor_s[self.row])
        self._open = open_starts

    def __len__(self) -> int:
        return len(self.h)

    @cached_property
    def utility_count(self) -> npt.NDArray[np.intp]:
        """Per household, how many utilities its meters measure."""
        if not len(self.meter):
            return np.zeros(len(self.h), dtype=np.intp)
        seen = np.zeros((len(self.h), max(UTILITY_BY_CODE) + 1), dtype=bool)
        seen[self.owner, self.m_utility] = True
        return seen.sum(axis=1)

    def any(self, per_meter: B) -> B:
        return np.logical_or.reduceat(per_meter, self.offsets) if len(self.meter) else np.zeros(0, bool)

    def min(self, per_meter: F8, where: B) -> F8:
        """Per household, the min of ``per_meter`` over meters where ``where`` (NaN if none)."""
        with np.errstate(invalid="ignore"):
            return np.fmin.reduceat(np.where(where, per_meter, np.nan), self.offsets)

    def open_start(self, slot: str) -> F8:
        """Per household, the start of its open episode in ``slot`` (NaN: none open)."""
        out = np.full(len(self.h), np.nan)
        starts = self._open.get(slot)
        if starts:
            # self.h is sorted (it comes from flatnonzero), so open households are found by bisection
            homes = np.fromiter(starts.keys(), dtype=np.intp, count=len(starts))
            pos = np.minimum(np.searchsorted(self.h, homes), len(self.h) - 1)
            found = self.h[pos] == homes
            out[pos[found]] = np.fromiter(starts.values(), dtype=np.float64, count=len(starts))[found]
        return out

    def utilities(self, position: int, culprits: B | None) -> tuple[str, ...]:
        lo = self.offsets[position]
        hi = self.offsets[position + 1] if position + 1 < len(self.offsets) else len(self.meter)
        codes = self.m_utility[lo:hi] if culprits is None else self.m_utility[lo:hi][culprits[lo:hi]]
        return tuple(sorted({UTILITY_BY_CODE[int(c)].value for c in codes}))

    def meters_of(self, position: int) -> range:
        lo = int(self.offsets[position])
        hi = int(self.offsets[position + 1]) if position + 1 < len(self.offsets) else len(self.meter)
        return range(lo, hi)

    def quiet_w(self, k: int) -> float:
        """The quiet level (W) of the meter at flat view position ``k`` (NaN: not measured)."""
        return float(self._meters.quiet_w(self.meter[k:k + 1])[0])

    @cached_property
    def threshold_deadline(self) -> F8:
        """When the whole home's silence reaches its threshold: the configured one (weighted by
        local time where the home has windows), or the routine's in real hours if later."""
        return np.fmax(self.table.deadline(self.row, self.anchor, self.table.home_s[self.row]),
                       self.anchor + self.routine_s)

    @cached_property
    def m_left_on_deadline(self) -> F8:
        """Per meter, when the load left on there has burned through the silence for the home's
        ``left_on`` hours (real hours: a lamp burns as long by night as by day); NaN where
        none burns, or where the meter's readings stopped before that time."""
        with np.errstate(invalid="ignore"):
            # a flat line is a source's filled gap or a stuck counter, not a lamp: a real load
            # left on wobbles with the rest of the home (meter_stuck reports the flat line)
            burning = (self.m_left_on_s > 0) & (self.m_stuck_h * 3600.0 < 0.5 * self.m_left_on_s)
            since = np.where(burning, self.m_last_ts - self.m_left_on_s, np.nan)
            deadline = np.maximum(since, self.anchor[self.owner]) + self.table.left_on_s[self.m_row]  # NaN stays NaN
            current = (deadline > self.now) | (self.m_last_ts >= deadline - self.table.lag_s[self.m_row])
            return np.where(current & np.isfinite(deadline), deadline, np.nan)

    @cached_property
    def left_on_deadline(self) -> F8:
        """Per household, the earliest of its meters' left-on deadlines (inf: none)."""
        if not len(self.meter):
            return np.zeros(0)
        with np.errstate(invalid="ignore"):
            earliest = np.fmin.reduceat(self.m_left_on_deadline, self.offsets)
        return np.where(np.isnan(earliest), np.inf, earliest)

    @cached_property
    def home_deadline(self) -> F8:
        """When the whole home's silence becomes an alarm: its threshold, or sooner a load
        left on through it; never before the floor of a home seen by its power meter alone."""
        return np.fmax(np.fmin(self.threshold_deadline, self.left_on_deadline),
                       self.anchor + self.table.floor_s[self.row])

    @cached_property
    def home_silent(self) -> B:
        """The whole home's silence is past its threshold and the readings confirm it."""
        deadline = self.home_deadline
        with np.errstate(invalid="ignore"):
            return (self.now >= deadline) & (self.confirmed >= deadline - self.table.lag_s[self.row])


class DetectorRule(Protocol):
    #: one open episode per household per slot
    slot: str
    rule: Rule
    severity: Severity

    def evaluate(self, view: HouseholdView) -> Verdicts: ...

    def evidence(self, view: HouseholdView, position: int, verdicts: Verdicts) -> dict[str, float]: ...

    def cleared(self, view: HouseholdView, position: int, start: float, utilities: tuple[str, ...]) -> dict[str, float]: ...


def last_per_utility(view: HouseholdView, position: int, values: F8, prefix: str) -> dict[str, float]:
    """``{prefix}{utility}: value`` for the meters of one household (the latest per utility)."""
    out: dict[str, float] = {}
    for k in view.meters_of(position):
        if not np.isnan(values[k]):
            key = f"{prefix}{UTILITY_BY_CODE[int(view.m_utility[k])].value}"
            out[key] = max(out.get(key, float("-inf")), float(values[k]))
    return out


__all__ = ["DetectorRule", "HouseholdView", "Verdicts", "last_per_utility"]
