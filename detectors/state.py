"""Meter and household state as arrays, updated from columnar batches.

Per meter (struct of arrays, 32 bytes a meter): time and value of the last
reading, time of the last activity, time of the first reading. Per household:
the last activity over all its meters, the time up to which every reporting
meter confirms the silence (the minimum of their last readings), and the
precomputed deadline (anchor + threshold), so a sweep is one compare.

"Activity" is a register increase a person causes: for water and gas at least one
register step; for electricity more than the base load (fridge, standby) plus one
register step over the interval. A register that goes backwards (rollover, meter
replaced) re-baselines the meter and is counted, never taken as usage.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from lifesign.grid import UTILITY_CODES, Utility
from lifesign.readings import ReadingBatch
from lifesign.registry import Registry
from lifesign.thresholds import ActivitySettings

F8 = npt.NDArray[np.float64]

# Tolerances for float noise in register differences (registers are sums of decimals).
_EPS = 1e-9


def activity_coefficients(activity: ActivitySettings) -> tuple[F8, F8]:
    """Per utility code (a, b): an interval of dt seconds is active when delta >= a + b·dt."""
    a = np.zeros(len(UTILITY_CODES))
    b = np.zeros(len(UTILITY_CODES))
    a[UTILITY_CODES[Utility.WATER]] = activity.water_min_delta_m3 - _EPS
    a[UTILITY_CODES[Utility.GAS]] = activity.gas_min_delta_m3 - _EPS
    # kWh above base load over dt: W · s / 3.6e6; plus one step so a lone step never counts
    a[UTILITY_CODES[Utility.ELECTRICITY]] = activity.electricity_resolution_kwh + 1e-6
    b[UTILITY_CODES[Utility.ELECTRICITY]] = activity.electricity_min_power_w / 3.6e6
    return a, b


class MeterState:
    """Struct of arrays indexed by the registry's meter index."""

    def __init__(self, meter_utility: npt.NDArray[np.int8]) -> None:
        n_meters = len(meter_utility)
        self.utility = meter_utility
        self.last_ts = np.full(n_meters, np.nan)
        self.last_value = np.full(n_meters, np.nan)
        self.last_usage_ts = np.full(n_meters, np.nan)
        self.first_ts = np.full(n_meters, np.nan)
        #: readings that arrived older than the meter's last reading (not applied)
        self.late_readings = 0
        #: registers that went backwards (re-baselined)
        self.rebaselines = 0

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.last_ts, self.last_value, self.last_usage_ts, self.first_ts))

    def observe(self, batch: ReadingBatch, a: F8, b: F8) -> npt.NDArray[np.int32]:
        """Apply a batch; returns the indexes of the meters whose state changed.

        ``a`` and ``b`` are per utility code (see :func:`activity_coefficients`)."""
        if not len(batch):
            return np.empty(0, dtype=np.int32)
        batch = batch.sorted_by_meter_time()
        m, ts, value = batch.meter, batch.ts, batch.value
        # An older or equal reading never moves the state backwards (late, duplicate).
        known_last = self.last_ts[m]
        fresh = ~(ts <= known_last)  # NaN (never seen) compares False, so it stays fresh
        # Within the batch, keep one reading per (meter, ts).
        same_as_previous = np.zeros(len(m), dtype=bool)
        same_as_previous[1:] = (m[1:] == m[:-1]) & (ts[1:] == ts[:-1])
        self.late_readings += int((~fresh).sum())
        keep = fresh & ~same_as_previous
        if not keep.any():
            return np.empty(0, dtype=np.int32)
        m, ts, value = m[keep], ts[keep], value[keep]

        # Previous reading of each row: the row before within the same meter, else the state.
        first_of_meter = np.ones(len(m), dtype=bool)
        first_of_meter[1:] = m[1:] != m[:-1]
        prev_ts = np.empty_like(ts)
        prev_value = np.empty_like(value)
        prev_ts[1:], prev_value[1:] = ts[:-1], value[:-1]
        prev_ts[first_of_meter] = self.last_ts[m[first_of_meter]]
        prev_value[first_of_meter] = self.last_value[m[first_of_meter]]

        delta = value - prev_value
        dt = ts - prev_ts
        with np.errstate(invalid="ignore"):
            backwards = delta < 0
            utility = self.utility[m]
            active = delta >= a[utility] + b[utility] * dt  # NaN (no previous reading) is never active
        self.rebaselines += int(backwards.sum())

        last_of_meter = np.ones(len(m), dtype=bool)
        last_of_meter[:-1] = m[:-1] != m[1:]
        touched = m[last_of_meter]
        self.last_ts[touched] = ts[last_of_meter]
        self.last_value[touched] = value[last_of_meter]
        never_seen = np.isnan(self.first_ts[m[first_of_meter]])
        self.first_ts[m[first_of_meter][never_seen]] = ts[first_of_meter][never_seen]
        if active.any():
            # rows are sorted by time within a meter, so fmax keeps the latest activity
            np.fmax.at(self.last_usage_ts, m[active], ts[active])
        return touched


class HouseholdState:
    """Household aggregates over their meters, kept current for touched households."""

    def __init__(self, registry: Registry) -> None:
        n = registry.n_households
        self.meter_household = registry.meter_household
        # Meters laid out household by household, so one household's meters are a slice.
        self.order = np.argsort(registry.meter_household, kind="stable").astype(np.int32)
        counts = np.bincount(registry.meter_household, minlength=n)
        self.seg_end = np.cumsum(counts).astype(np.int32)
        self.seg_start = (self.seg_end - counts).astype(np.int32)
        #: every reporting meter has readings up to here (min of their last readings)
        self.confirmed_until = np.full(n, np.nan)
        #: last activity, or the first reading when there was none yet
        self.anchor = np.full(n, np.nan)
        #: float32 is exact to the second for any threshold under 190 days
        self.threshold_s = np.full(n, np.inf, dtype=np.float32)
        self.deadline = np.full(n, np.inf)

    def refresh(self, meters: MeterState, touched_meters: npt.NDArray[np.int32]) -> None:
        if not len(touched_meters):
            return
        households = np.unique(self.meter_household[touched_meters])
        self._refresh_households(meters, households)

    @property
    def nbytes(self) -> int:
        arrays = (self.order, self.seg_start, self.seg_end, self.confirmed_until, self.anchor,
                  self.threshold_s, self.deadline)
        return sum(a.nbytes for a in arrays)

    def _refresh_households(self, meters: MeterState, households: npt.NDArray[np.integer]) -> None:
        starts = self.seg_start[households]
        ends = self.seg_end[households]
        nonempty = ends > starts
        households, starts, ends = households[nonempty], starts[nonempty], ends[nonempty]
        if not len(households):
            return
        # Gather only the touched households' meters (cost follows the batch, not the city),
        # then reduce each household's contiguous run.
        lengths = ends - starts
        offsets = np.zeros(len(lengths), dtype=np.intp)
        offsets[1:] = np.cumsum(lengths)[:-1]
        slots = np.arange(int(lengths.sum()), dtype=np.intp) + np.repeat(starts - offsets, lengths)
        picked = self.order[slots]
        with np.errstate(invalid="ignore"):
            self.confirmed_until[households] = np.fmin.reduceat(meters.last_ts[picked], offsets)
            usage = np.fmax.reduceat(meters.last_usage_ts[picked], offsets)
            first_seen = np.fmin.reduceat(meters.first_ts[picked], offsets)
        self.anchor[households] = np.where(np.isnan(usage), first_seen, usage)
        self.deadline[households] = self.anchor[households] + self.threshold_s[households]

    def set_thresholds(self, threshold_s: npt.NDArray[np.float64]) -> None:
        self.threshold_s = threshold_s.astype(np.float32)
        self.deadline = self.anchor + self.threshold_s
