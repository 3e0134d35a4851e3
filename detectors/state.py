"""Meter and household state as arrays, updated from columnar batches.

Per meter (struct of arrays, 43 bytes): time and register of the last reading,
the last activity, how long water has flowed in every interval up to the last
reading (and how long at a strong rate, one byte), the last three intervals' rates
(the oldest in one byte), how long its usage has repeated exactly, today's usage and
the running daily norm, the quiet level of today and yesterday and how long a load has
been left on; plus 4 bytes laying meters out household by household. Per household (45 bytes): its settings row, the time up to
which its live meters confirm a silence, when it was first seen, the next time a
sweep must look at it (precomputed: a sweep is one compare), open-episode bits.

"Activity" is what the home's automatic loads cannot explain:

* electricity: a *change of state*. The interval's mean power differs from the
  previous interval's, or (intervals of 30 minutes or more) one of the two before it
  (hourly means spread a morning or an evening getting going over two or three
  intervals: on the real hourly homes of ../shared/eval, reading the third took welfare
  false alarms from 157 to 126, every visible absence still alarmed), by more than a
  fridge, freezer, standby or thermostat can make it move (``min_change_w`` at
  15-minute intervals: two cold appliances starting in the same quarter hour read as up to
  360 W on a 0.01 kWh register; their cycles average out over longer intervals, so an
  hour's mean stays within ``hourly_change_w`` of every other's, see :func:`change_threshold_kw`;
  never below 1.5 register steps of power, the quantisation noise). A level is
  never activity: a light, TV or heater left on counts once, when it was switched.
* water and gas: at least one register step above the home's constant flow. Once
  water has flowed in every interval for ``base_flow_after_minutes`` (a running
  toilet, a tap left on), the lower of this and the previous interval's rate is
  taken as that constant flow and only usage above it counts, from a second step
  (the flow's own rounding on the register makes one); continuous_flow still
  reports the run. A drip slower than a step an interval shows as lone steps, and
  each still counts (README, Limits).

Both are pure functions of a meter's readings (no recursive estimate), so a replay
in any batch sizes gives the same activity and the same episode keys.

A load *left on* is not life, but it is evidence. Per electricity meter the state keeps
its quiet level (the lowest power of the local day so far and of the day before: what its
fridge, freezer and standby draw when they rest) and how long the power has stayed at
least ``no_usage.left_on.above_quiet_w`` above it, both read as the mean of the last two
intervals. A lamp, TV or
heater that someone switched on and nobody switched off keeps that run going; cold
appliances rest within the hour, and sleep or an outing leaves the lights off, so the run
breaks. The no_usage rule brings the alarm forward when a silence has had a load left on
for ``left_on.hours`` (see rules/no_usage.py). Only intervals of at most 30 minutes
count: an hour's mean spreads a fridge's cycles and a heater's thermostat into levels a
lamp can't be told from (on real hourly homes a 40 W rise held for hours in half their
quiet spells), so hourly meters never report a load left on.

A meter whose interval usage repeats exactly (at least ``stuck_min_steps``
register steps, the same every interval: a filled gap or a stuck pulse counter)
accumulates ``stuck_h``; past the stuck limit it is ``meter_stuck`` and no longer
confirms a silence (its data shows neither life nor its absence).

A register that goes backwards (rollover, meter replaced) re-baselines the meter
and is counted, never taken as usage. A reading at or before a meter's last one
(late, duplicate, replayed) never moves its state backwards: it is counted and
dropped.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Protocol

import numpy as np
import numpy.typing as npt

from detectors.settings import SettingsTable
from detectors.thresholds import ActivitySettings
from detectors.timeweights import local_day
from detectors.usual import UsualSilences
from detectors.volume import VolumeWindow
from lifesign.grid import UTILITY_CODES, Utility
from lifesign.readings import ReadingBatch
from lifesign.registry import Registry

F8 = npt.NDArray[np.float64]
I4 = npt.NDArray[np.int32]
#: a household not seen yet (uint32 epoch seconds run to 2106)
NEVER = np.uint32(0xFFFFFFFF)
B = npt.NDArray[np.bool_]
WATER = UTILITY_CODES[Utility.WATER]
ELECTRICITY = UTILITY_CODES[Utility.ELECTRICITY]
# Tolerance for float noise in register differences (registers are sums of decimals).
_EPS = 1e-9
#: a reporting interval longer than this breaks a run of continuous flow (we can't
#: say water flowed in "every interval" across a gap in the data)
FLOW_MAX_INTERVAL_S = 1800.0
#: above a constant flow, usage is activity from this many register steps over it: the flow's
#: own quantisation makes one (the half keeps float16 rates' rounding from deciding a second)
CONSTANT_FLOW_EXCESS_STEPS = 1.5
#: a strong flow's run is kept as where it began in its any-flow run, in whole minutes (one
#: byte; rounded once, when it begins, so any batching gives the same run); STRONG_NONE: the
#: last interval was not strong, or the strong flow began too late in the run to say
STRONG_UNIT_S = 60.0
STRONG_NONE = 255
#: the daily norm's memory, in completed days (norm_days is one byte)
NORM_MAX_DAYS = 255
NORM_KEEP_DAYS = 128
#: daily usage is counted in steps of this many register units (1 L of water or gas, 1 Wh)
USAGE_UNIT = 0.001


#: the interval up to which ``min_change_w`` applies as written (cold-appliance cycles are 30-90 min)
CHANGE_REFERENCE_S = 900.0
#: from this interval on, the hourly change applies (scaled down for longer intervals)
HOUR_S = 3600.0
#: from this interval on, a change may also be read against the two intervals before last (a ramp)
RAMP_MIN_INTERVAL_S = 1800.0
#: the rate three intervals back is kept as its difference from the rate two back, in
#: this many kW (one signed byte: +-1.27 kW, far above any change threshold; beyond that the
#: interval two back was a switch, seen as activity then)
OLDEST_UNIT_KW = 0.01
#: no rate three intervals back (a new meter, or a gap in the data)
OLDEST_NONE = -128
#: intervals longer than this (a gap in the data) give no rate to compare
CHANGE_MAX_INTERVAL_S = 3 * 3600.0
#: a change must exceed this many register steps of power (quantisation alone moves one step)
CHANGE_MIN_STEPS = 1.5
#: the quiet level's stored unit (one byte: 0 to 2032 W; a home quieter than that at rest)
QUIET_UNIT_W = 8.0
#: a quiet level not measured yet (or above 2032 W: nothing is judged against it)
QUIET_NONE = 255
#: only intervals this short show a load left on (see the module docstring)
LEFT_ON_MAX_INTERVAL_S = 1800.0
#: the left-on run's stored unit: minutes, up to 45 days
LEFT_ON_MAX_MIN = 65535


def oldest_code(older_kw: F8, before_kw: F8) -> npt.NDArray[np.int8]:
    """The stored byte for a rate ``older_kw`` three intervals back, given ``before_kw`` two back.

    >>> [int(x) for x in oldest_code(np.array([0.02, 0.5, np.nan, 9.0]), np.array([0.13, 0.13, 0.13, 0.0]))]
    [-11, 37, -128, 127]
    """
    with np.errstate(invalid="ignore"):
        steps = np.rint((older_kw - before_kw) / OLDEST_UNIT_KW)
        return np.where(np.isnan(steps), OLDEST_NONE, np.clip(steps, -127, 127)).astype(np.int8)


def oldest_rate(code: npt.NDArray[np.int8], before_kw: F8) -> F8:
    """The rate three intervals back from its stored byte and the rate two back (NaN: unknown)."""
    return np.where(code == OLDEST_NONE, np.nan, before_kw + code.astype(np.float64) * OLDEST_UNIT_KW)


def activity_steps(activity: ActivitySettings) -> F8:
    """Per utility code, one register step (the resolution; water and gas: the activity step)."""
    a = np.zeros(len(UTILITY_CODES))
    a[UTILITY_CODES[Utility.WATER]] = activity.water_min_delta_m3 - _EPS
    a[UTILITY_CODES[Utility.GAS]] = activity.gas_min_delta_m3 - _EPS
    a[UTILITY_CODES[Utility.ELECTRICITY]] = max(activity.electricity_resolution_kwh, 1e-6)
    return a


def change_threshold_kw(min_change_w: F8, dt: F8, step_kwh: float, hourly_share: float) -> F8:
    """The change of mean power (kW) between two intervals that automatic loads can't explain.

    ``min_change_w`` applies at 15 minutes and shorter. Over an hour the cold appliances'
    cycles (runs of 14-22 minutes) average out, so there it is ``hourly_share`` of it (the
    site's ``hourly_change_w`` / ``min_change_w``: 75 / 380 as shipped; a household that
    sets its own ``min_change_w`` moves its hourly change in proportion), and less for
    longer intervals (the same energy over more time). Between 15 minutes and an hour it
    moves from one to the other linearly in 1/interval: a compromise, not a measurement (at
    30 minutes 177 W, which one fridge-freezer running the whole interval can pass). One law
    for both would have to choose: 380 W at 15 minutes (two cold appliances starting in the
    same quarter hour read as 320-360 W) is 95 W over an hour, which hides the lamps and TVs
    of a quiet home read hourly (real hourly homes: 1.69 welfare false alarms a home-month at
    75 W, 2.39 at 95 W).

    >>> import numpy as np
    >>> dt = np.array([900.0, 1800.0, 3600.0, 7200.0, 60.0])
    >>> [round(float(x), 3) for x in change_threshold_kw(np.full(5, 380.0), dt, 0.01, 75 / 380)]
    [0.38, 0.177, 0.075, 0.037, 0.9]
    >>> [round(float(x), 3) for x in change_threshold_kw(np.full(3, 760.0), dt[:3], 0.01, 75 / 380)]
    [0.76, 0.353, 0.15]
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        short = min_change_w / 1000.0
        hour = short * hourly_share
        # 1 at 15 minutes, 0 at an hour
        towards_short = (HOUR_S / dt - 1.0) / (HOUR_S / CHANGE_REFERENCE_S - 1.0)
        between = hour + (short - hour) * towards_short
        floor = np.where(dt <= CHANGE_REFERENCE_S, short, np.where(dt >= HOUR_S, hour * HOUR_S / dt, between))
        return np.maximum(floor, CHANGE_MIN_STEPS * step_kwh * 3600.0 / dt)


class ActivityModel(Protocol):
    """Per-meter settings of the activity model (the detector maps meters to their settings row)."""

    # read-only: the detector's settings are a frozen dataclass
    @property
    def base_flow_after_s(self) -> float: ...

    @property
    def stuck_min_steps(self) -> float: ...

    @property
    def hourly_share(self) -> float: ...

    def min_change_w(self, meters: I4) -> F8: ...

    def left_on_w(self, meters: I4) -> F8: ...

    def strong_flow_lph(self, meters: I4) -> F8: ...

    def volume_quantum(self, meters: I4) -> F8: ...


def _runs(flag: B, dt: F8, first: B, carried_s: F8) -> F8:
    """Per row, the seconds of the run of consecutive ``flag`` rows it ends (0 where not flagged);
    a run at a meter's first row continues the state's ``carried_s``."""
    n = len(flag)
    continues = np.zeros(n, dtype=bool)
    continues[1:] = flag[1:] & flag[:-1] & ~first[1:]
    begins = flag & ~continues
    step = np.where(flag, dt, 0.0)
    total = np.cumsum(step)
    begin_index = np.maximum.accumulate(np.where(begins, np.arange(n), 0))
    before = total[begin_index] - step[begin_index]
    carried = np.where(first[begin_index], carried_s[begin_index], 0.0)
    return np.where(flag, total - before + carried, 0.0)


def distinct(values: npt.NDArray[np.integer]) -> npt.NDArray[np.integer]:
    """Sorted distinct values. A sort and a compare: numpy 2.4's hash-based np.unique took
    most of a 100k-reading update (90 ms of 140)."""
    ordered = np.sort(values)
    keep = np.ones(len(ordered), dtype=bool)
    keep[1:] = ordered[1:] != ordered[:-1]
    return ordered[keep]


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
        #: last interval with activity, whole epoch seconds (NEVER: none seen; read it with
        #: :meth:`last_usage`: 4 bytes where a float64 took 8)
        self.last_usage_s = np.full(n, NEVER, dtype=np.uint32)
        #: water flowing in every interval for this long, up to last_ts (0: last interval dry)
        self.flow_run_s = np.zeros(n, dtype=np.float32)
        #: how far into the any-flow run (STRONG_UNIT_S steps) the run of intervals that all flowed
        #: at least the home's continuous_flow.strong.above_lph began, up to last_ts (STRONG_NONE: none)
        self.strong_lag = np.full(n, STRONG_NONE, dtype=np.uint8)
        #: the last two intervals' rates, register units per hour (kW for electricity; NaN: unknown)
        self.rate = np.full(n, np.nan, dtype=np.float16)
        self.rate_before = np.full(n, np.nan, dtype=np.float16)
        #: the rate three intervals back, one byte (:func:`oldest_code`)
        self.rate_oldest = np.full(n, OLDEST_NONE, dtype=np.int8)
        #: hours the interval usage has repeated exactly, up to last_ts (a stuck meter or filled gap)
        self.stuck_h = np.zeros(n, dtype=np.float16)
        #: usage since local midnight of last_ts's day, in USAGE_UNIT steps (integers: exact,
        #: so the sum is the same whatever the batches)
        #: (16 bits, saturating at 65.5 m³: abnormal_high reads water only, and a saturated day is huge)
        self.day_usage = np.zeros(n, dtype=np.uint16)
        #: completed days' usage (USAGE_UNIT steps) and their count: the daily norm is their mean
        self.norm_total = np.zeros(n, dtype=np.uint32)
        #: (at most NORM_MAX_DAYS: then both halve, so the norm keeps a long but finite memory)
        self.norm_days = np.zeros(n, dtype=np.uint8)
        #: electricity: the lowest interval power (QUIET_UNIT_W steps, rounded down) of the local
        #: day of last_ts so far and of the day before (QUIET_NONE: none)
        self.quiet_today = np.full(n, QUIET_NONE, dtype=np.uint8)
        self.quiet_yesterday = np.full(n, QUIET_NONE, dtype=np.uint8)
        #: minutes every interval up to last_ts has stayed left_on_w above the quiet level
        self.left_on_min = np.zeros(n, dtype=np.uint16)
        #: newest reading time seen from any meter (bounds the detector's "now")
        self.newest_ts = float("-inf")
        self.late_readings = 0
        self.rebaselines = 0
        #: the low_volume rule's state, only while some thresholds enable it
        self.volume: VolumeWindow | None = None
        #: the (meters, times, intervals) that showed activity in the last observed batch (for learning):
        #: the interval (s) each was seen in is routine learning's resolution. Scratch
        #: of one batch, not state (a replay in other batches leaves other values here)
        self.last_activity: tuple[I4, F8, F8] = (np.empty(0, dtype=np.int32), np.empty(0), np.empty(0))
        #: the meters with activity in the last batch (sorted) and their last activity before it
        self.activity_before: tuple[I4, F8] = (np.empty(0, dtype=np.int32), np.empty(0))
        #: learning only (off in the service): keep ``last_left_on``, the (meter, time, run s) of
        #: every reading of the last batch through which a load stayed left on, read as the
        #: lamp rule reads the state (whole minutes; not a stuck meter's repeated level)
        self.record_left_on = False
        self.last_left_on: tuple[I4, F8, F8] = (np.empty(0, dtype=np.int32), np.empty(0), np.empty(0))
        #: and, beside ``last_activity``, the time of the reading that showed each activity (a
        #: switch-off is dated at the interval's start, but known only at its end)
        self.last_activity_read: F8 = np.empty(0)

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.last_ts, self.last_value, self.last_usage_s, self.flow_run_s, self.strong_lag,
                                      self.rate, self.rate_before, self.rate_oldest, self.stuck_h, self.day_usage, self.norm_total,
                                      self.norm_days, self.quiet_today, self.quiet_yesterday, self.left_on_min)) \
            + (self.volume.nbytes if self.volume is not None else 0)

    def last_usage(self, meters: npt.NDArray[np.integer]) -> F8:
        """Each meter's last activity, epoch seconds (NaN: none seen)."""
        raw = self.last_usage_s[meters]
        return np.where(raw == NEVER, np.nan, raw.astype(np.float64))

    def quiet_w(self, meters: npt.NDArray[np.integer]) -> F8:
        """Each meter's quiet level in W (NaN: not measured)."""
        q = np.minimum(self.quiet_today[meters], self.quiet_yesterday[meters])
        return np.where(q == QUIET_NONE, np.nan, q.astype(np.float64) * QUIET_UNIT_W)

    def left_on_s(self, meters: npt.NDArray[np.integer]) -> F8:
        """How long a load has been left on at each meter, up to its last reading (0: none)."""
        return self.left_on_min[meters].astype(np.float64) * 60.0

    def observe(self, batch: ReadingBatch, step: F8, activity: ActivityModel, tz: tzinfo) -> tuple[I4, I4, F8]:
        """Apply a batch. ``step`` is one register step per utility code (:func:`activity_steps`),
        ``activity`` the per-meter settings of the activity model.

        Returns the meters whose state changed, the meters seen for the first time, and
        their first reading times."""
        empty = np.empty(0, dtype=np.int32)
        # a batch with nothing new shows no activity: its learning must not see the last batch's again
        self.last_activity = (empty, np.empty(0), np.empty(0))
        self.activity_before = (empty, np.empty(0))
        self.last_left_on = (empty, np.empty(0), np.empty(0))
        self.last_activity_read = np.empty(0)
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
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            backwards = delta < 0
            # rates are kept in float16 (3 significant digits: a register step is a far larger
            # difference), rounded here too so a batch boundary never changes a comparison
            # a mean over a gap in the data (the meter back from an outage) is no state to compare
            # with: it and the interval after it show no change
            rate = np.where(backwards | ~(dt > 0) | (dt > CHANGE_MAX_INTERVAL_S), np.nan,
                            delta / dt * 3600.0).astype(np.float16).astype(np.float64)
        prev_rate = np.empty_like(rate)
        prev_rate[1:] = rate[:-1]
        prev_rate[first] = self.rate[m[first]].astype(np.float64)
        # two intervals back: the state's older rate for a meter's first two rows in the batch
        before = np.empty_like(rate)
        before[2:] = rate[:-2]
        second = np.zeros(len(m), dtype=bool)
        second[1:] = first[:-1] & ~first[1:]
        before[:2] = np.nan
        before[first] = self.rate_before[m[first]].astype(np.float64)
        before[second] = self.rate[m[second]].astype(np.float64)
        # three intervals back, through its stored byte for every row (the same rounding whether
        # the rate came in this batch or from the state)
        older = np.full_like(rate, np.nan)
        older[3:] = rate[:-3]
        third = np.zeros(len(m), dtype=bool)
        third[2:] = first[:-2] & ~first[1:-1] & ~first[2:]
        older[second] = self.rate_before[m[second]].astype(np.float64)
        older[third] = self.rate[m[third]].astype(np.float64)
        code = oldest_code(older, before)
        code[first] = self.rate_oldest[m[first]]
        oldest = oldest_rate(code, before)
        self.rebaselines += int(backwards.sum())
        used = np.rint(np.where(np.isnan(delta) | backwards, 0.0, delta) / USAGE_UNIT).astype(np.int64)
        if self.volume is not None:
            quantum = np.where(utility == WATER, activity.volume_quantum(m), np.nan)
            on = np.flatnonzero(np.isfinite(quantum))
            if len(on):
                self.volume.observe(m[on], ts[on], np.where(np.isnan(delta) | backwards, 0.0, delta)[on], quantum[on])

        electric = utility == ELECTRICITY
        with np.errstate(invalid="ignore"):
            wet = ~electric & (delta >= step[utility])  # NaN (no previous reading) is never wet
        run = self._flow(m, ts, prev_ts, dt, wet & (utility == WATER), first, last)
        self._strong(m, dt, rate, run, wet & (utility == WATER), first, last, activity)
        active, switched_off = self._active(m, delta, dt, rate, prev_rate, before, oldest, run, wet, electric, step,
                                            activity)
        # a switch-off shows as a quieter interval after a busier one: the person was last seen
        # at the boundary between them, not at the end of the quiet interval
        seen_at = np.where(switched_off, prev_ts, ts)
        stuck_s = self._stuck(m, dt, rate, prev_rate, delta, step[utility], first, last, activity)
        day = local_day(tz, ts)
        prev_day = np.empty_like(day)
        prev_day[1:] = day[:-1]
        prev_day[first] = local_day(tz, self.last_ts[m[first]])
        left_on_s = self._left_on(m, dt, rate, prev_rate, electric, day, prev_day, first, last, activity)
        if self.record_left_on:
            # as the rule reads them: minutes of the run, hours (float16) of the stuck run
            run_s = np.minimum(np.floor(left_on_s / 60.0), LEFT_ON_MAX_MIN) * 60.0
            stuck = np.minimum(stuck_s / 3600.0, 60000.0).astype(np.float16).astype(np.float64) * 3600.0
            burning = (run_s > 0) & (stuck < 0.5 * run_s)
            self.last_left_on = (m[burning], ts[burning], run_s[burning])
        self._days(m, used, day, prev_day, first, last)

        touched = m[last]
        self.last_ts[touched] = ts[last]
        self.last_value[touched] = value[last]
        self.rate_oldest[touched] = oldest_code(before[last], prev_rate[last])
        self.rate_before[touched] = prev_rate[last]
        self.rate[touched] = rate[last]
        self.last_activity = (m[active], seen_at[active], dt[active])
        if self.record_left_on:
            self.last_activity_read = ts[active]
        # each active meter's last activity before this batch (what a household's silence
        # ended from; m is sorted, so a meter's readings are one run)
        heads = m[active][np.r_[True, m[active][1:] != m[active][:-1]]] if active.any() else empty
        self.activity_before = (heads, self.last_usage(heads))
        if active.any():
            # a meter's seen_at never decreases along its rows: its last active row is its newest
            am, at = m[active], seen_at[active]
            tail = np.r_[am[1:] != am[:-1], True]
            newest = np.clip(np.floor(at[tail]), 0, NEVER - 1)
            self.last_usage_s[am[tail]] = np.fmax(self.last_usage(am[tail]), newest).astype(np.uint32)
        return touched, new_meters, new_first_ts

    def _active(self, m: I4, delta: F8, dt: F8, rate: F8, prev_rate: F8, before: F8, oldest: F8, run: F8,
                wet: B, electric: B, step: F8, activity: ActivityModel) -> tuple[B, B]:
        """Which readings show activity (see the module docstring), and which of them show it
        as a switch-off (a quieter interval)."""
        with np.errstate(invalid="ignore"):
            threshold = change_threshold_kw(activity.min_change_w(m), dt, float(step[ELECTRICITY]), activity.hourly_share)
            # against the last interval (a switch) or the two before it (a ramp that hourly means
            # spread over two or three intervals: a morning or an evening getting going, a light
            # and then the cooker; cold appliances keep every hour's mean within the threshold of
            # every other's); NaN rates never change (at 15 minutes a switch shows within one
            # interval: only longer intervals spread it)
            switch = np.abs(rate - prev_rate) > threshold
            long = dt >= RAMP_MIN_INTERVAL_S
            ramp = long & (np.abs(rate - before) > threshold)
            slow = long & ~ramp & (np.abs(rate - oldest) > threshold)
            changed = electric & (switch | ramp | slow)
            switched_off = changed & ((switch & (rate < prev_rate)) | (~switch & ramp & (rate < before))
                                      | (~switch & slow & (rate < oldest)))
            # water that has run on long enough has a constant part: the lower of two intervals' rates.
            # A steady flow read on a register of whole steps shows k or k + 1 steps an interval
            # (30 L/h at 1 L per 15 minutes: 7, 8, 7, 8): above it, only a second step is use
            constant = run - dt >= activity.base_flow_after_s
            base = np.where(constant, np.fmin(rate, prev_rate), 0.0) * dt / 3600.0
            need = np.where(constant, CONSTANT_FLOW_EXCESS_STEPS, 1.0) * step[self.utility[m]]
            above = delta - np.where(np.isnan(base), 0.0, base) >= need
        return changed | (wet & above), switched_off

    def _stuck(self, m: I4, dt: F8, rate: F8, prev_rate: F8, delta: F8, step: F8, first: B, last: B,
               activity: ActivityModel) -> F8:
        """Hours of exactly repeated interval usage, carried across batches (per row: the
        seconds of the run it ends)."""
        with np.errstate(invalid="ignore"):
            same = (np.abs(rate - prev_rate) <= 1e-4 * np.abs(rate)) & (delta >= activity.stuck_min_steps * step)
        run = _runs(same, dt, first, self.stuck_h[m].astype(np.float64) * 3600.0)
        self.stuck_h[m[last]] = np.minimum(run[last] / 3600.0, 60000.0).astype(np.float16)
        return run

    def _left_on(self, m: I4, dt: F8, rate: F8, prev_rate: F8, electric: B, day: F8, prev_day: F8, first: B,
                 last: B, activity: ActivityModel) -> F8:
        """The quiet level of today and yesterday, and the run of intervals a load has been
        left on, carried across batches (see the module docstring). Both read the mean of
        the last two intervals: one register step is 40 W at 0.01 kWh per 15 minutes, and a
        single interval that rounds down a step (a 40 W base read as 0 once) would set a quiet
        level the base then stands a step above all night. Per row: the seconds of the run it ends."""
        with np.errstate(invalid="ignore"):
            power_w = (rate + prev_rate) * 500.0
            valid = electric & (dt <= LEFT_ON_MAX_INTERVAL_S) & np.isfinite(power_w)
            level = np.where(valid, np.clip(np.floor(power_w / QUIET_UNIT_W), 0, QUIET_NONE - 1),
                             QUIET_NONE).astype(np.float64)
        # segments: one per (meter, local day) run in this batch
        begins = first | (day != prev_day)  # NaN (never seen) compares unequal: a new day
        seg = np.cumsum(begins) - 1
        heads = np.flatnonzero(begins)
        continues = first[heads] & (day[heads] == prev_day[heads])  # the state's day goes on
        state_today = self.quiet_today[m[heads]].astype(np.float64)
        state_yesterday = self.quiet_yesterday[m[heads]].astype(np.float64)
        opening = np.where(continues, state_today, QUIET_NONE)  # the day's quietest before the segment
        whole = np.minimum(opening, np.minimum.reduceat(level, heads))  # the day's quietest by its end
        # the day before each segment: the state's (its day, or the one before it) for a meter's
        # first segment, else the previous segment's day if it is the day before
        yesterday = np.full(len(heads), float(QUIET_NONE))
        at_first = first[heads]
        state_day_before = at_first & (prev_day[heads] == day[heads] - 1)
        yesterday[at_first & continues] = state_yesterday[at_first & continues]
        yesterday[state_day_before] = state_today[state_day_before]
        later = np.flatnonzero(~at_first)
        adjacent = later[day[heads[later]] - 1 == day[heads[later - 1]]]
        yesterday[adjacent] = whole[adjacent - 1]
        # each reading's quiet level: the day before, and the day so far before this reading
        # (an exclusive running min per segment: the offset keeps segments apart)
        offset = seg * 1024.0
        running = np.minimum.accumulate(level - offset) + offset
        before = np.empty_like(running)
        before[1:] = running[:-1]
        before[heads] = QUIET_NONE
        quiet = np.minimum(np.minimum(before, opening[seg]), yesterday[seg])
        with np.errstate(invalid="ignore"):
            on = valid & (quiet < QUIET_NONE) & (power_w >= quiet * QUIET_UNIT_W + activity.left_on_w(m))
        run = _runs(on, dt, first, self.left_on_min[m].astype(np.float64) * 60.0)
        self.left_on_min[m[last]] = np.minimum(np.floor(run[last] / 60.0), LEFT_ON_MAX_MIN).astype(np.uint16)
        ends = seg[last]
        self.quiet_today[m[last]] = whole[ends].astype(np.uint8)
        self.quiet_yesterday[m[last]] = yesterday[ends].astype(np.uint8)
        return run

    def _flow(self, m: I4, ts: F8, prev_ts: F8, dt: F8, flowing: B, first: B, last: B) -> F8:
        """Runs of intervals that all show water, carried across batches; the run at each row."""
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
        return run

    def _strong(self, m: I4, dt: F8, rate: F8, run: F8, wet: B, first: B, last: B, activity: ActivityModel) -> None:
        """Where in each any-flow run (``run``) the intervals that all flowed at least the home's
        strong rate began, carried across batches. Kept as an offset from the run's start,
        rounded once when the strong run begins, so any batching gives the same run."""
        with np.errstate(invalid="ignore"):
            # rate: m³ an hour, rounded to float16's 3 digits (hence the relative tolerance)
            strong = wet & (dt <= FLOW_MAX_INTERVAL_S) & (rate * 1000.0 >= activity.strong_flow_lph(m) * (1.0 - 1e-3)) \
                & (run > 0)
        n = len(m)
        continues = np.zeros(n, dtype=bool)
        continues[1:] = strong[1:] & strong[:-1] & ~first[1:]
        begins = strong & ~continues
        # a strong run at a meter's first row goes on from the state's if that one was strong
        kept = self.strong_lag[m]
        carried = begins & first & (kept != STRONG_NONE)
        with np.errstate(invalid="ignore"):
            lag = np.where(carried, kept, np.rint((run - dt) / STRONG_UNIT_S))
        lag = np.where(lag < STRONG_NONE, lag, STRONG_NONE)  # began too late in the run to keep: none
        begin_index = np.maximum.accumulate(np.where(begins, np.arange(n), 0))
        self.strong_lag[m[last]] = np.where(strong[last], lag[begin_index[last]], STRONG_NONE).astype(np.uint8)

    def strong_run_s(self, meters: npt.NDArray[np.integer]) -> F8:
        """How long each meter's water has flowed at the strong rate in every interval, up to its
        last reading (0: not now)."""
        lag = self.strong_lag[meters]
        return np.where(lag == STRONG_NONE, 0.0,
                        np.maximum(self.flow_run_s[meters].astype(np.float64) - lag * STRONG_UNIT_S, 0.0))

    def _days(self, m: I4, used: npt.NDArray[np.int64], day: F8, prev_day: F8, first: npt.NDArray[np.bool_],
              last: npt.NDArray[np.bool_]) -> None:
        """Usage per local day (``day``, and the day of each row's previous reading); each
        completed day adds to the meter's norm."""
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
        seg_last = np.zeros(len(seg_usage), dtype=bool)
        seg_last[seg_id[last]] = True
        done = ~seg_last
        done_meters = np.concatenate([m[state_done], seg_meter[done]])
        if len(done_meters):
            done_usage = np.concatenate([self.day_usage[m[state_done]].astype(np.int64), seg_usage[done]])
            meters, inverse = np.unique(done_meters, return_inverse=True)
            days = self.norm_days[meters].astype(np.int64) + np.bincount(inverse)
            total = self.norm_total[meters].astype(np.int64) + np.bincount(inverse, weights=done_usage).astype(np.int64)
            # past NORM_MAX_DAYS the norm keeps its mean over NORM_KEEP_DAYS: older days fade out
            over = days > NORM_MAX_DAYS
            total[over] = total[over] * NORM_KEEP_DAYS // days[over]
            days[over] = NORM_KEEP_DAYS
            self.norm_days[meters] = days
            self.norm_total[meters] = np.minimum(total, np.iinfo(np.uint32).max)
        self.day_usage[seg_meter[seg_last]] = np.minimum(seg_usage[seg_last], np.iinfo(np.uint16).max)


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
        #: every live meter has readings up to here (min of their last readings), whole epoch
        #: seconds rounded down (NEVER: none); read it with :meth:`confirmed`
        self.confirmed_until_s = np.full(n, NEVER, dtype=np.uint32)
        #: the first reading of any meter, whole epoch seconds (NEVER: none yet): a silence
        #: can't be older than our watch
        self.first_seen_s = np.full(n, NEVER, dtype=np.uint32)
        #: a sweep looks at a household when now >= next_check (-inf: new data, look now)
        self.next_check = np.full(n, np.inf)
        #: one bit per episode slot with an open episode
        self.open_bits = np.zeros(n, dtype=np.uint8)
        #: the usual long silence per start slot (6 bytes)
        self.usual = UsualSilences(n)

    @property
    def nbytes(self) -> int:
        arrays = (self.order, self.seg, self.settings_row, self.confirmed_until_s,
                  self.first_seen_s, self.next_check, self.open_bits)
        return sum(a.nbytes for a in arrays) + self.usual.nbytes

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
        """Recompute confirmation for the households of ``touched`` meters. A meter past its
        offline limit, or stuck past its stuck limit, no longer confirms a silence."""
        if not len(touched):
            return
        households = distinct(self.meter_household[touched])
        households = households[self.seg[households + 1] > self.seg[households]]
        picked, owner, offsets = self.gather(households)
        last_ts = meters.last_ts[picked]
        with np.errstate(invalid="ignore"):
            newest = np.fmax.reduceat(last_ts, offsets)
            # a meter silent past its offline limit no longer holds the confirmation back
            rows = self.settings_row[households]
            live = (last_ts >= (newest - settings.offline_s[rows])[owner]) \
                & (meters.stuck_h[picked].astype(np.float64) * 3600.0 < settings.stuck_s[rows][owner])
            confirmed = np.floor(np.fmin.reduceat(np.where(live, last_ts, np.nan), offsets))
            self.confirmed_until_s[households] = np.where(np.isnan(confirmed), NEVER,
                                                          np.clip(confirmed, 0, NEVER - 1)).astype(np.uint32)
        self.next_check[households] = -np.inf

    def confirmed(self, households: npt.NDArray[np.integer]) -> F8:
        """Up to when each household's live meters confirm a silence (NaN: none)."""
        raw = self.confirmed_until_s[households]
        return np.where(raw == NEVER, np.nan, raw.astype(np.float64))

    def saw_first(self, meters: I4, first_ts: F8) -> None:
        if len(meters):
            np.minimum.at(self.first_seen_s, self.meter_household[meters],
                          np.clip(np.floor(first_ts), 0, NEVER - 1).astype(np.uint32))

    def first_seen(self, households: npt.NDArray[np.integer]) -> F8:
        """When each household's first reading came (NaN: none yet)."""
        raw = self.first_seen_s[households]
        return np.where(raw == NEVER, np.nan, raw.astype(np.float64))

    def seen(self) -> B:
        return self.first_seen_s != NEVER

    def activity_before(self, meters: MeterState, households: npt.NDArray[np.integer]) -> F8:
        """Each household's last activity before the batch ``meters`` last observed (NaN: none)."""
        picked, _, offsets = self.gather(households)
        usage = meters.last_usage(picked)
        heads, before = meters.activity_before
        if len(heads) and len(picked):
            at = np.minimum(np.searchsorted(heads, picked), len(heads) - 1)
            hit = heads[at] == picked
            usage[hit] = before[at[hit]]
        with np.errstate(invalid="ignore"):
            return np.fmax.reduceat(usage, offsets) if len(picked) else np.full(len(households), np.nan)
