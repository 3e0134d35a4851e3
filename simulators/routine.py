"""The daily routine of an elderly person living alone, as water litres and electricity Wh.

Assumptions of the model (all times local wall-clock times of the scenario's time zone,
:mod:`simulators.localtime`; UTC+8 unless ``timezone`` or ``utc_offset_hours`` says otherwise):

* **Sleep.** Each home has a mean bed time (21:00-23:45) and wake time (05:00-07:30).
  Both drift by up to ±30-45 min from day to day. A night is clipped to 5-8.5 h, so with
  the flushes around it no normal night is silent for 9.5 h (late rising and weekend
  lie-ins, :mod:`simulators.lifestyle`, add to that on purpose). Long sleepers
  (:mod:`simulators.cohort`) go to bed at 20:00-22:00 for 10-12 h, clipped at 12.5 h.
* **Wall clock.** A resident who gets up at 07:00 does so at 07:00 local after a
  daylight-saving change too: the spring night is an hour shorter in real time, the
  autumn night an hour longer.
* **Water** comes as instant events: a flush on getting up and before bed (within
  15 min of each), one guaranteed event (flush or tap) somewhere in every 1.5 h block
  of the waking day (3 h for very low users), so no awake gap exceeds 3 h; extra tap
  uses, meal washing-up, an occasional evening shower (30-50 L), and now and then a
  toilet visit at night. Volumes are scaled so a home uses its ``daily_water_l`` on
  average; no event is smaller than 1 L, so every event moves a 1 L register.
* **Electricity** is the base load (fridge + standby) all the time plus appliance
  episodes while awake: morning lights, kettle (2 kW, 3-5 min), cooking at meals,
  afternoon and evening TV/lights, an electric water heater for showers. Homes with
  gas cook and heat water on gas instead (litres of gas per hour while on).
* **Randomness.** Day ``d`` of the whole cohort is one ``numpy.random.Generator``
  seeded with ``(seed, stream, d)`` drawing a (households × columns) block of
  uniforms; household ``i`` always reads row ``i`` (a block of homes skips to its
  rows with ``advance``). So a home's day depends only on (seed, household, day):
  the same whatever the round size, the cohort size or the block of homes computed.
  A round sums the events inside [t0, t1), so n rounds of 15 min add up to one of n×15 min.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from lifesign.clock import DEFAULT_UTC_OFFSET_HOURS
from simulators.accrual import RoundGrid, Windows
from simulators.cohort import HomeProfiles
from simulators.dayplan import DayPlan
from simulators.effects import Effects
from simulators.extras import lifestyle_extras
from simulators.lifestyle import LIFESTYLE_COLUMNS, Lifestyle, season, weekday
from simulators.localtime import LocalClock, fixed_zone
from simulators.usage import Usage, accrue_usage

FloatArray = npt.NDArray[np.float64]

HOUR = 3600.0
MINUTE = 60.0
DAY = 86400.0
MIN_NIGHT_H = 5.0
MAX_NIGHT_H = 8.5
LONG_SLEEPER_MAX_NIGHT_H = 12.5
BLOCK_H = 1.5
LOW_USER_BLOCK_H = 3.0
N_BLOCKS = 14  # covers a waking day of up to 21 h
EXTRA_PER_BLOCK = 2
FLUSH_L = 6.0
KETTLE_W = 2000.0
WATER_HEATER_W = 2000.0
GAS_COOKING_LPH = (350.0, 450.0)
GAS_WATER_HEATER_LPH = 2000.0
_STREAM_DAY, _STREAM_WAKE, _STREAM_SLEEP, _STREAM_LIFE = 0x44415920, 0x57414B45, 0x534C4550, 0x4C494645


class _Uniforms:
    """Hands out the columns of one (households × columns) block of uniforms in order."""

    def __init__(self, block: FloatArray) -> None:
        self.block = block
        self.next = 0

    def take(self, k: int = 1) -> FloatArray:
        cols = self.block[:, self.next:self.next + k]
        self.next += k
        if cols.shape[1] != k:
            raise RuntimeError(f"routine draw block too small: needed column {self.next}, have {self.block.shape[1]}")
        return cols[:, 0] if k == 1 else cols


@dataclass(frozen=True)
class _Day:
    """Anchors of one local day, epoch seconds per household (midnight is shared)."""

    day: int
    midnight: float
    sleep_prev: FloatArray
    wake: FloatArray
    sleep: FloatArray


@dataclass(frozen=True)
class _Meals:
    """Water events that appliance episodes follow (cooking before meals, heating showers)."""

    meal_t: FloatArray
    meal_valid: npt.NDArray[np.bool_]
    shower_t: FloatArray
    shower_valid: npt.NDArray[np.bool_]


def _block_h(homes: HomeProfiles) -> FloatArray:
    return np.where(homes.low_user, LOW_USER_BLOCK_H, BLOCK_H)


def _water_scale(homes: HomeProfiles, lifestyle: Lifestyle) -> FloatArray:
    """Litre multiplier that makes the nominal event volumes add up to daily_water_l."""
    awake_h = homes.sleep_hour - homes.wake_hour
    blocks = np.ceil(awake_h / _block_h(homes))
    shower_p = homes.shower_p
    nominal = (
        FLUSH_L * (2.0 + 1.3 * homes.night_toilet_p)
        + blocks * (0.5 * FLUSH_L + 0.5 * 3.0)
        + blocks * EXTRA_PER_BLOCK * homes.extra_tap_p * 3.0
        + 3 * 3.5
        + shower_p * 40.0
    )
    if lifestyle.baths:
        nominal = nominal + homes.baths_per_week / 7.0 * (1.0 - shower_p) * 110.0
    if lifestyle.laundry:
        nominal = nominal + homes.laundry_per_week / 7.0 * 45.0
    return homes.daily_water_l / nominal


_DRAW_COLUMNS = 192


class Routine:
    """Usage of every household of a cohort over any interval, reproducible from the seed."""

    def __init__(self, homes: HomeProfiles, seed: int, utc_offset_hours: float = DEFAULT_UTC_OFFSET_HOURS,
                 cache_days: int = 8, lifestyle: Lifestyle | None = None, timezone: str | None = None) -> None:
        self.homes = homes
        self.seed = int(seed)
        #: ``timezone`` (an IANA name) wins over a fixed ``utc_offset_hours``
        self.clock = LocalClock(timezone or fixed_zone(utc_offset_hours))
        self.n = len(homes)
        self.lifestyle = lifestyle or Lifestyle()
        self._scale = _water_scale(homes, self.lifestyle)
        self._plans: OrderedDict[tuple[int, int, int], DayPlan] = OrderedDict()
        self._cache_days = cache_days

    # -- calendar ------------------------------------------------------------
    def local_day(self, t: float) -> int:
        return self.clock.local_day(t)

    def midnight(self, day: int) -> float:
        return self.clock.midnight(day)

    def _uniform(self, stream: int, day: int, rows: slice, columns: int | None = None) -> FloatArray:
        if day < 0:
            raise ValueError(f"Routine: times must be after 1970 (local day >= 0), got day {day}")
        rng = np.random.default_rng([self.seed, stream, day])
        width = 1 if columns is None else columns
        if rows.start:
            rng.bit_generator.advance(rows.start * width)  # type: ignore[attr-defined]  # PCG64 has it
        m = rows.stop - rows.start
        return rng.random(m) if columns is None else rng.random((m, columns))

    def _wake_hours(self, day: int, rows: slice) -> FloatArray:
        h = self.homes.rows(rows)
        return h.wake_hour + h.drift_h * (2.0 * self._uniform(_STREAM_WAKE, day, rows) - 1.0)

    def _sleep_hours(self, day: int, rows: slice) -> FloatArray:
        h = self.homes.rows(rows)
        return h.sleep_hour + h.drift_h * (2.0 * self._uniform(_STREAM_SLEEP, day, rows) - 1.0)

    # -- one day -------------------------------------------------------------
    def plan(self, day: int, rows: slice | None = None) -> DayPlan:
        """The day's events for a block of homes (all by default); a few days are cached."""
        block = slice(0, self.n) if rows is None else slice(*rows.indices(self.n)[:2])
        key = (day, block.start, block.stop)
        if key in self._plans:
            self._plans.move_to_end(key)
            return self._plans[key]
        plan = self._make_plan(day, block)
        self._plans[key] = plan
        while len(self._plans) > self._cache_days:
            self._plans.popitem(last=False)
        return plan

    def _make_plan(self, day: int, rows: slice) -> DayPlan:
        h = self.homes.rows(rows)
        u = _Uniforms(self._uniform(_STREAM_DAY, day, rows, _DRAW_COLUMNS))
        life = self.lifestyle
        v = _Uniforms(self._uniform(_STREAM_LIFE, day, rows, LIFESTYLE_COLUMNS)) if life.any else None
        midnight = self.midnight(day)
        # The plan is built on the wall clock: times are midnight + wall seconds, made real at the end.
        clock = self.clock
        sleep_prev = clock.naive(day, clock.real(day - 1, self.midnight(day - 1) + self._sleep_hours(day - 1, rows) * HOUR))
        wake_h = self._wake_hours(day, rows)
        lie_in = np.zeros(len(h))
        s = season(day)
        if v is not None:
            late = v.take(2)
            if life.weekends and weekday(day) >= 5:
                lie_in = lie_in + h.weekend_late_h
            if life.seasons:
                lie_in = lie_in + 0.25 * max(s, 0.0)
            if life.late_rising:
                lie_in = lie_in + np.where(late[:, 0] < h.late_rise_p, 1.5 + 1.5 * late[:, 1], 0.0)
        max_night_h = np.where(h.long_sleeper, LONG_SLEEPER_MAX_NIGHT_H, MAX_NIGHT_H)
        wake = np.clip(midnight + (wake_h + lie_in) * HOUR,
                       sleep_prev + MIN_NIGHT_H * HOUR, sleep_prev + (max_night_h + lie_in) * HOUR)
        # at least 12 h up (8 h for long sleepers, whose late mornings would push bed time past midnight)
        min_awake_h = np.where(h.long_sleeper, 8.0, 12.0)
        sleep = np.maximum(midnight + self._sleep_hours(day, rows) * HOUR, wake + min_awake_h * HOUR)
        d = _Day(day, midnight, sleep_prev, wake, sleep)
        scale = self._scale[rows]
        water_t, water_l, meals = self._water_events(d, u, h, scale, v, s)
        start, end, watts, gas = self._appliance_episodes(d, u, h, meals, s)
        if v is not None:
            extra = lifestyle_extras(life, d.day, midnight, wake, sleep, h, v, meals.shower_valid, s)
            water_t = np.concatenate([water_t, extra.water_t], axis=1)
            water_l = np.concatenate([water_l, extra.water_l * np.where(extra.scaled, scale[:, None], 1.0)], axis=1)
            start = np.concatenate([start, extra.start], axis=1)
            end = np.concatenate([end, extra.end], axis=1)
            watts = np.concatenate([watts, extra.watts], axis=1)
            gas = np.concatenate([gas, extra.gas_lph], axis=1)
            if extra.nap_start is not None and extra.nap_end is not None:
                nap_a, nap_b = extra.nap_start[:, None], extra.nap_end[:, None]
                water_l = np.where((water_t >= nap_a) & (water_t < nap_b), 0.0, water_l)
                dropped = (start >= nap_a) & (start < nap_b)
                end = np.where(dropped, start, np.where((start < nap_a) & (end > nap_a), nap_a, end))
        real = clock.real
        return DayPlan(day, real(day, wake), real(day, sleep), real(day, water_t), water_l, real(day, start),
                       real(day, end), watts, gas)

    def _water_events(self, d: _Day, u: _Uniforms, h: HomeProfiles, scale: FloatArray,
                      v: _Uniforms | None, s: float) -> tuple[FloatArray, FloatArray, _Meals]:
        n = len(h)
        wake, sleep = d.wake[:, None], d.sleep[:, None]
        times: list[FloatArray] = []
        litres: list[FloatArray] = []

        def add(t: FloatArray, litre: FloatArray | float, valid: npt.NDArray[np.bool_] | bool) -> None:
            times.append(t.reshape(n, -1))
            litres.append(np.broadcast_to(np.where(valid, litre, 0.0), t.shape).reshape(n, -1))

        # The night before this day: toilet visits well inside the night.
        lo, hi = d.sleep_prev + 0.75 * HOUR, d.wake - 0.75 * HOUR
        night_t = lo[:, None] + u.take(2) * (hi - lo)[:, None]
        add(night_t, FLUSH_L, u.take(2) < h.night_toilet_p[:, None] * np.array([1.0, 0.3]))
        # Getting up and going to bed: always a flush.
        add(d.wake + (1.0 + 14.0 * u.take()) * MINUTE, FLUSH_L, True)
        add(d.sleep - (1.0 + 14.0 * u.take()) * MINUTE, FLUSH_L, True)
        # One guaranteed event per block of the waking day: no awake gap above two blocks.
        block_h = _block_h(h)[:, None] * HOUR
        block_start = wake + np.arange(N_BLOCKS) * block_h
        block_valid = block_start < sleep
        block_len = np.maximum(np.minimum(block_start + block_h, sleep) - block_start, 0.0)
        is_flush = u.take(N_BLOCKS) < 0.5
        tap = 1.0 + 4.0 * u.take(N_BLOCKS)
        add(block_start + u.take(N_BLOCKS) * block_len, np.where(is_flush, FLUSH_L, tap), block_valid)
        # Extra tap uses, a few chances per block.
        k = N_BLOCKS * EXTRA_PER_BLOCK
        extra_valid = np.repeat(block_valid, EXTRA_PER_BLOCK, axis=1) & (u.take(k) < h.extra_tap_p[:, None])
        extra_t = np.repeat(block_start, EXTRA_PER_BLOCK, axis=1) + u.take(k) * np.repeat(block_len, EXTRA_PER_BLOCK, axis=1)
        add(extra_t, 1.0 + 4.0 * u.take(k), extra_valid)
        # Meals: washing up after cooking (the cooking itself is an appliance episode).
        meal_t = np.stack([
            d.wake + (30.0 + 45.0 * u.take()) * MINUTE,
            d.midnight + (11.5 + 1.25 * u.take()) * HOUR,
            d.midnight + (17.25 + 1.5 * u.take()) * HOUR,
        ], axis=1)
        meal_valid = (meal_t > wake) & (meal_t < sleep - 10.0 * MINUTE)
        add(meal_t, 2.0 + 3.0 * u.take(3), meal_valid)
        # An evening shower on some days (fewer in winter; a bath replaces it on bath days).
        shower_t = d.sleep - (60.0 + 90.0 * u.take()) * MINUTE
        shower_p = h.shower_p
        if v is not None and self.lifestyle.seasons:
            shower_p = shower_p * (1.0 - 0.35 * s)
        shower_valid = (u.take() < shower_p) & (shower_t > d.wake)
        add(shower_t, 30.0 + 20.0 * u.take(), shower_valid)

        raw_l = np.concatenate(litres, axis=1)
        water_l = np.where(raw_l > 0.0, np.maximum(raw_l * scale[:, None], 1.0), 0.0)
        return np.concatenate(times, axis=1), water_l, _Meals(meal_t, meal_valid, shower_t, shower_valid)

    def _appliance_episodes(self, d: _Day, u: _Uniforms, h: HomeProfiles, m: _Meals, s: float) -> tuple[FloatArray, ...]:
        """Start, end, watts and gas litres/hour of each episode (households × episodes)."""
        n = len(h)
        cook_w = np.where(h.has_gas, 0.0, h.cooking_w)[:, None] * (0.8 + 0.4 * u.take(3))
        cook_gas = np.where(h.has_gas, 1.0, 0.0)[:, None] * (
            GAS_COOKING_LPH[0] + (GAS_COOKING_LPH[1] - GAS_COOKING_LPH[0]) * u.take(3)
        )
        cook_dur = np.array([10.0, 20.0, 20.0]) * MINUTE * (1.0 + u.take(3))
        evening_start = d.midnight + (18.5 + u.take()) * HOUR
        if self.lifestyle.seasons:
            evening_start = evening_start - 0.75 * s * HOUR  # winter dusk comes early
        always = np.ones(n, bool)
        zero = np.zeros(n)
        heater_w = np.where(h.has_gas, 0.0, WATER_HEATER_W)
        heater_gas = np.where(h.has_gas, GAS_WATER_HEATER_LPH, 0.0)
        # (start, duration, watts, gas litres per hour, happens today)
        episodes = [
            (d.wake, (45.0 + 45.0 * u.take()) * MINUTE, 0.6 * h.evening_load_w, zero, always),  # morning lights, radio
            (d.wake + (5.0 + 25.0 * u.take()) * MINUTE, (3.0 + 2.0 * u.take()) * MINUTE, np.full(n, KETTLE_W), zero, always),
            (d.midnight + (14.0 + 2.5 * u.take()) * HOUR, (3.0 + 2.0 * u.take()) * MINUTE, np.full(n, KETTLE_W), zero,
             u.take() < 0.6),  # afternoon tea
            *((m.meal_t[:, k] - cook_dur[:, k], cook_dur[:, k], cook_w[:, k], cook_gas[:, k],
               m.meal_valid[:, k] & (~h.cooks_little if k < 2 else always)) for k in range(3)),  # some cook once a day
            (d.midnight + (14.0 + 2.0 * u.take()) * HOUR, (1.0 + 2.0 * u.take()) * HOUR, h.evening_load_w, zero,
             u.take() < 0.5),  # afternoon TV
            (evening_start, d.sleep - 10.0 * u.take() * MINUTE - evening_start, h.evening_load_w, zero, always),
            (m.shower_t, (10.0 + 5.0 * u.take()) * MINUTE, heater_w, heater_gas, m.shower_valid),
        ]
        raw_start, duration, watts, gas, happens = (np.stack(column, axis=1) for column in zip(*episodes))
        start = np.maximum(raw_start, d.wake[:, None])
        end = np.minimum(raw_start + duration, d.sleep[:, None])
        valid = happens & (end > start)
        return start, np.where(valid, end, start), np.where(valid, watts, 0.0), np.where(valid, gas, 0.0)

    # -- usage over rounds ---------------------------------------------------------
    def usage_matrix(self, grid: RoundGrid, rows: slice | None = None, effects: Effects | None = None) -> Usage:
        """Water litres, electricity Wh and gas litres of a block of homes in every round of ``grid``."""
        block = slice(0, self.n) if rows is None else slice(*rows.indices(self.n)[:2])
        # A day's events lie within [midnight - 4 h, midnight + 25 h], an hour more around a DST change.
        margin = self.clock.margin_s(grid.start, grid.end)
        first = self.local_day(grid.start - 25.0 * HOUR - margin) + 1
        last = self.local_day(grid.end + 4.0 * HOUR + margin - 1e-3)
        plans = [self.plan(day, block) for day in range(max(first, 0), last + 1)]
        return accrue_usage(plans, self.homes, self.lifestyle.fridge_cycles, grid, block, effects or Effects())

    def usage(self, t0: float, t1: float, active_until: FloatArray | None = None) -> Usage:
        """Water litres, electricity Wh and gas litres of every household in [t0, t1).

        ``active_until`` (epoch seconds per household, ``inf`` for none) stops a home's
        activity: from then on no water, no gas and only the base electrical load.
        """
        if not t1 > t0:
            raise ValueError(f"Routine.usage: t1 must be > t0, got t0={t0}, t1={t1}")
        effects = None
        if active_until is not None:
            until = np.asarray(active_until, dtype=np.float64)
            if until.shape != (self.n,):
                raise ValueError(f"Routine.usage: active_until must have one entry per household ({self.n}), got shape {until.shape}")
            rows = np.flatnonzero(np.isfinite(until))
            origin = t0 - 3 * DAY
            effects = Effects(away=(Windows(rows, until[rows], np.full(len(rows), np.inf), origin, (t1 - origin) + 4 * DAY),))
        used = self.usage_matrix(RoundGrid(t0, t1 - t0, 1), None, effects)
        return Usage(water_l=used.water_l[:, 0], electricity_wh=used.electricity_wh[:, 0], gas_l=used.gas_l[:, 0])


__all__ = ["DAY", "HOUR", "MAX_NIGHT_H", "Routine"]
