"""Meter and household state as arrays, updated from columnar batches.

Per meter (struct of arrays, 38 bytes): time and register of the last reading,
the last activity, how long water has flowed in every interval up to the last
reading, today's usage and the running daily norm; plus 4 bytes laying meters out
household by household. Per household (33 bytes): its settings row, the time up to
which its live meters confirm a silence, when it was first seen, the next time a
sweep must look at it (precomputed: a sweep is one compare), open-episode bits.

"Activity" is a register increase a person causes (for an interval-usage meter, the
interval's usage): for water and gas at least one
register step; for electricity more than the household's base load (fridge,
standby) plus one register step over the interval. A register that goes
backwards (rollover, meter replaced) re-baselines the meter and is counted,
never taken as usage. A reading at or before a meter's last one (late,
duplicate, replayed) never moves its state backwards: it is counted and dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import tzinfo

import numpy as np
import numpy.typing as npt

from detectors.settings import SettingsTable
from detectors.thresholds import ActivitySettings
from detectors.timeweights import local_day
from lifesign.grid import UTILITY_CODES, Utility
from lifesign.readings import ReadingBatch
from lifesign.registry import Registry

F8 = npt.NDArray[np.float64]
I4 = npt.NDArray[np.int32]
WATER = UTILITY_CODES[Utility.WATER]
ELECTRICITY = UTILITY_CODES[Utility.ELECTRICITY]
# Tolerance for float noise in register differences (registers are sums of decimals).
_EPS = 1e-9
#: a reporting interval longer than this breaks a run of continuous flow (we can't
#: say water flowed in "every interval" across a gap in the data)
FLOW_MAX_INTERVAL_S = 1800.0
#: daily usage is counted in steps of this many register units (1 L of water or gas, 1 Wh)
USAGE_UNIT = 0.001


def activity_steps(activity: ActivitySettings) -> F8:
    """Per utility code, the register increase that is activity on its own (before base load)."""
    a = np.zeros(len(UTILITY_CODES))
    a[UTILITY_CODES[Utility.WATER]] = activity.water_min_delta_m3 - _EPS
    a[UTILITY_CODES[Utility.GAS]] = activity.gas_min_delta_m3 - _EPS
    # plus one step so a lone fridge step never counts
    a[UTILITY_CODES[Utility.ELECTRICITY]] = activity.electricity_resolution_kwh + 1e-6
    return a


class MeterState:
    """Struct of arrays indexed by the registry's meter index."""

    def __init__(self, meter_utility: npt.NDArray[np.int8],
                 meter_interval: npt.NDArray[np.bool_] | None = None) -> None:
        n = len(meter_utility)
        self.utility = meter_utility
        #: interval-usage meters (the registry's column): a value is the usage of the interval
        #: ending at its time, not a register, so its usage is the value itself
        self.interval = np.zeros(n, dtype=bool) if meter_interval is None else meter_interval
        self._any_interval = bool(self.interval.any())  # most cities have none: skip the where
        self.last_ts = np.full(n, np.nan)
        self.last_value = np.full(n, np.nan)
        #: last interval with activity (NaN: none seen)
        self.last_usage_ts = np.full(n, np.nan)
        #: water flowing in every interval for this long, up to last_ts (0: last interval dry)
        self.flow_run_s = np.zeros(n, dtype=np.float32)
        #: usage since local midnight of last_ts's day, in USAGE_UNIT steps (integers: exact,
        #: so the sum is the same whatever the batches)
        self.day_usage = np.zeros(n, dtype=np.uint32)
        #: completed days' usage (USAGE_UNIT steps) and their count: the daily norm is their mean
        self.norm_total = np.zeros(n, dtype=np.uint32)
        self.norm_days = np.zeros(n, dtype=np.uint16)
        #: newest reading time seen from any meter (bounds the detector's "now")
        self.newest_ts = float("-inf")
        self.late_readings = 0
        self.rebaselines = 0

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.last_ts, self.last_value, self.last_usage_ts, self.flow_run_s,
                                      self.day_usage, self.norm_total, self.norm_days))

    def observe(self, batch: ReadingBatch, step: F8, base_load_w: Callable[[I4], F8], tz: tzinfo) -> tuple[I4, I4, F8]:
        """Apply a batch. ``step`` is per utility code (:func:`activity_steps`), ``base_load_w``
        maps meter indexes to their household's base load (W).

        Returns the meters whose state changed, the meters seen for the first time, and
        their first reading times."""
        empty = np.empty(0, dtype=np.int32)
        if not len(batch):
            return empty, empty, np.empty(0)
        batch = batch.sorted_by_meter_time()
        m, ts, value = batch.meter, batch.ts, batch.value
        fresh = ~(ts <= self.last_ts[m])  # NaN (never seen) compares False, so it stays fresh
        duplicate = np.zeros(len(m), dtype=bool)
        duplicate[1:] = (m[1:] == m[:-1]) & (ts[1:] == ts[:-1])
        self.late_readings += int((~fresh).sum())
        keep = fresh & ~duplicate
        if not keep.any():
            return empty, empty, np.empty(0)
        m, ts, value = m[keep], ts[keep], value[keep]
        self.newest_ts = max(self.newest_ts, float(ts.max()))

        first = np.ones(len(m), dtype=bool)
        first[1:] = m[1:] != m[:-1]
        last = np.ones(len(m), dtype=bool)
        last[:-1] = m[:-1] != m[1:]
        prev_ts = np.empty_like(ts)
        prev_value = np.empty_like(value)
        prev_ts[1:], prev_value[1:] = ts[:-1], value[:-1]
        prev_ts[first] = self.last_ts[m[first]]
        prev_value[first] = self.last_value[m[first]]
        new_meters = m[first][np.isnan(self.last_ts[m[first]])]
        new_first_ts = ts[first][np.isnan(self.last_ts[m[first]])]

        delta = np.where(self.interval[m], value, value - prev_value) if self._any_interval else value - prev_value
        dt = ts - prev_ts
        utility = self.utility[m]
        with np.errstate(invalid="ignore"):
            backwards = delta < 0
            base = np.where(utility == ELECTRICITY, base_load_w(m) / 3.6e6, 0.0)
            active = delta >= step[utility] + base * dt  # NaN (no previous reading) is never active
        self.rebaselines += int(backwards.sum())
        used = np.rint(np.where(np.isnan(delta) | backwards, 0.0, delta) / USAGE_UNIT).astype(np.int64)

        self._flow(m, ts, prev_ts, dt, active & (utility == WATER), first, last)
        self._days(m, ts, prev_ts, used, first, last, tz)

        touched = m[last]
        self.last_ts[touched] = ts[last]
        self.last_value[touched] = value[last]
        if active.any():
            # rows are sorted by time within a meter, so fmax keeps the latest activity
            np.fmax.at(self.last_usage_ts, m[active], ts[active])
        return touched, new_meters, new_first_ts

    def _flow(self, m: I4, ts: F8, prev_ts: F8, dt: F8, flowing: npt.NDArray[np.bool_],
              first: npt.NDArray[np.bool_], last: npt.NDArray[np.bool_]) -> None:
        """Runs of intervals that all show water, carried across batches."""
        flowing = flowing & (dt <= FLOW_MAX_INTERVAL_S)
        carried = first & flowing & (self.flow_run_s[m] > 0)
        continues = np.zeros(len(m), dtype=bool)
        continues[1:] = flowing[1:] & flowing[:-1] & ~first[1:]
        begins = flowing & ~continues
        # a run that began before this batch started at last_ts - flow_run_s
        run_start = np.where(carried, self.last_ts[m] - self.flow_run_s[m].astype(np.float64), prev_ts)
        begin_index = np.maximum.accumulate(np.where(begins, np.arange(len(m)), 0))
        start_of_row = run_start[begin_index]
        run = np.where(flowing, ts - start_of_row, 0.0)
        self.flow_run_s[m[last]] = run[last].astype(np.float32)

    def _days(self, m: I4, ts: F8, prev_ts: F8, used: npt.NDArray[np.int64], first: npt.NDArray[np.bool_],
              last: npt.NDArray[np.bool_], tz: tzinfo) -> None:
        """Usage per local day; each completed day adds to the meter's norm."""
        day = local_day(tz, ts)
        prev_day = np.empty_like(day)
        prev_day[1:] = day[:-1]
        prev_day[first] = local_day(tz, self.last_ts[m[first]])
        new_day = day != prev_day  # NaN (never seen) compares unequal: a new day
        # segments: one per (meter, day) run in this batch
        seg_begin = first | new_day
        seg_id = np.cumsum(seg_begin) - 1
        seg_usage = np.zeros(int(seg_id[-1]) + 1, dtype=np.int64)
        np.add.at(seg_usage, seg_id, used)
        seg_meter = m[seg_begin]
        # a first segment on the same day as the state continues the state's day
        continues_state = first & ~new_day
        seg_usage[seg_id[continues_state]] += self.day_usage[m[continues_state]].astype(np.int64)
        # completed days: a state day followed by a new day, and every segment but the meter's last
        state_done = first & new_day & ~np.isnan(prev_day)
        np.add.at(self.norm_total, m[state_done], self.day_usage[m[state_done]])
        np.add.at(self.norm_days, m[state_done], 1)
        seg_last = np.zeros(len(seg_usage), dtype=bool)
        seg_last[seg_id[last]] = True
        done = ~seg_last
        np.add.at(self.norm_total, seg_meter[done], seg_usage[done].astype(np.uint32))
        np.add.at(self.norm_days, seg_meter[done], 1)
        self.day_usage[seg_meter[seg_last]] = seg_usage[seg_last].astype(np.uint32)


class HouseholdState:
    """Household aggregates over their meters, kept current for touched households."""

    def __init__(self, registry: Registry) -> None:
        n = registry.n_households
        self.meter_household = registry.meter_household
        # Meters laid out household by household, so one household's meters are a slice.
        self.order = np.argsort(registry.meter_household, kind="stable").astype(np.int32)
        counts = np.bincount(registry.meter_household, minlength=n)
        self.seg = np.zeros(n + 1, dtype=np.int32)
        self.seg[1:] = np.cumsum(counts)
        self.settings_row = np.zeros(n, dtype=np.int32)
        #: every live meter has readings up to here (min of their last readings)
        self.confirmed_until = np.full(n, np.nan)
        #: the first reading of any meter: a silence can't be older than our watch
        self.first_seen = np.full(n, np.nan)
        #: a sweep looks at a household when now >= next_check (-inf: new data, look now)
        self.next_check = np.full(n, np.inf)
        #: one bit per episode slot with an open episode
        self.open_bits = np.zeros(n, dtype=np.uint8)

    @property
    def nbytes(self) -> int:
        arrays = (self.order, self.seg, self.settings_row, self.confirmed_until,
                  self.first_seen, self.next_check, self.open_bits)
        return sum(a.nbytes for a in arrays)

    def gather(self, households: npt.NDArray[np.integer]) -> tuple[npt.NDArray[np.intp], I4, npt.NDArray[np.intp]]:
        """The meters of ``households`` as one flat array: (meters, owner position, offsets)."""
        starts = self.seg[households]
        lengths = self.seg[np.asarray(households) + 1] - starts
        offsets = np.zeros(len(lengths), dtype=np.intp)
        if len(lengths):
            offsets[1:] = np.cumsum(lengths)[:-1]
        slots = np.arange(int(lengths.sum()), dtype=np.intp) + np.repeat(starts - offsets, lengths)
        owner = np.repeat(np.arange(len(households), dtype=np.int32), lengths)
        return self.order[slots].astype(np.intp), owner, offsets

    def refresh(self, meters: MeterState, touched: I4, settings: SettingsTable) -> None:
        if not len(touched):
            return
        households = np.unique(self.meter_household[touched])
        households = households[self.seg[households + 1] > self.seg[households]]
        picked, owner, offsets = self.gather(households)
        last_ts = meters.last_ts[picked]
        with np.errstate(invalid="ignore"):
            newest = np.fmax.reduceat(last_ts, offsets)
            # a meter silent past its offline limit no longer holds the confirmation back
            offline_s = settings.offline_s[self.settings_row[households]]
            live = last_ts >= (newest - offline_s)[owner]
            self.confirmed_until[households] = np.fmin.reduceat(np.where(live, last_ts, np.nan), offsets)
        self.next_check[households] = -np.inf

    def saw_first(self, meters: I4, first_ts: F8) -> None:
        if len(meters):
            np.fmin.at(self.first_seen, self.meter_household[meters], first_ts)
