"""The daily routine of an elderly person living alone, as water litres and electricity Wh.

Assumptions of the model (all times local, UTC+8 unless ``utc_offset_hours`` says otherwise):

* **Sleep.** Each home has a mean bed time (21:00-23:45) and wake time (05:00-07:30).
  Both drift by up to ±30-45 min from day to day. A night is clipped to 5-8.5 h, so with
  the flushes around it no normal night is silent for 9.5 h.
* **Water** comes as instant events: a flush on getting up and before bed (within
  15 min of each), one guaranteed event (flush or tap) somewhere in every 1.5 h block
  of the waking day, so no awake gap exceeds 3 h; extra tap uses, meal washing-up,
  an occasional evening shower (30-50 L), and now and then a toilet visit at night.
  Volumes are scaled so a home uses its ``daily_water_l`` on average; no event is
  smaller than 1 L, so every event moves a 1 L register.
* **Electricity** is the base load (fridge + standby) all the time plus appliance
  episodes while awake: morning lights, kettle (2 kW, 3-5 min), cooking at meals,
  afternoon and evening TV/lights, an electric water heater for showers. Homes with
  gas cook and heat water on gas instead (litres of gas per hour while on).
* **Randomness.** Day ``d`` of the whole cohort is one ``numpy.random.Generator``
  seeded with ``(seed, stream, d)`` drawing a (households × columns) block of
  uniforms; household ``i`` always reads row ``i``. So a home's day depends only on
  (seed, household, day): the same whatever the round size or the cohort size.
  A round sums the events inside [t0, t1), so n rounds of 15 min add up to one of n×15 min.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from simulators.cohort import HomeProfiles

FloatArray = npt.NDArray[np.float64]

HOUR = 3600.0
MINUTE = 60.0
DAY = 86400.0
MIN_NIGHT_H = 5.0
MAX_NIGHT_H = 8.5
BLOCK_H = 1.5
N_BLOCKS = 14  # covers a waking day of up to 21 h
EXTRA_PER_BLOCK = 2
FLUSH_L = 6.0
KETTLE_W = 2000.0
WATER_HEATER_W = 2000.0
GAS_COOKING_LPH = (350.0, 450.0)
GAS_WATER_HEATER_LPH = 2000.0
_STREAM_DAY, _STREAM_WAKE, _STREAM_SLEEP = 0x44415920, 0x57414B45, 0x534C4550


@dataclass(frozen=True)
class Usage:
    """Consumption of every household in one interval (arrays indexed by household)."""

    water_l: FloatArray
    electricity_wh: FloatArray
    gas_l: FloatArray


@dataclass(frozen=True)
class DayPlan:
    """All events of one local day for every household (rows), as epoch seconds."""

    day: int
    wake: FloatArray
    sleep: FloatArray
    #: (households, events): instant water events and their litres (0 = no event)
    water_t: FloatArray
    water_l: FloatArray
    #: (households, episodes): appliance episodes [start, end) and their draw
    episode_start: FloatArray
    episode_end: FloatArray
    episode_w: FloatArray
    episode_gas_lph: FloatArray


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


def _water_scale(homes: HomeProfiles) -> FloatArray:
    """Litre multiplier that makes the nominal event volumes add up to daily_water_l."""
    awake_h = homes.sleep_hour - homes.wake_hour
    blocks = np.ceil(awake_h / BLOCK_H)
    nominal = (
        FLUSH_L * (2.0 + 1.3 * homes.night_toilet_p)
        + blocks * (0.5 * FLUSH_L + 0.5 * 3.0)
        + blocks * EXTRA_PER_BLOCK * homes.extra_tap_p * 3.0
        + 3 * 3.5
        + homes.shower_p * 40.0
    )
    return homes.daily_water_l / nominal


_DRAW_COLUMNS = 192


class Routine:
    """Usage of every household of a cohort over any interval, reproducible from the seed."""

    def __init__(self, homes: HomeProfiles, seed: int, utc_offset_hours: float = 8.0, cache_days: int = 8) -> None:
        self.homes = homes
        self.seed = int(seed)
        self.offset_s = float(utc_offset_hours) * HOUR
        self.n = len(homes)
        self._scale = _water_scale(homes)
        self._plans: OrderedDict[int, DayPlan] = OrderedDict()
        self._cache_days = cache_days

    # -- calendar ------------------------------------------------------------
    def local_day(self, t: float) -> int:
        return int(np.floor((t + self.offset_s) / DAY))

    def midnight(self, day: int) -> float:
        return day * DAY - self.offset_s

    def _uniform(self, stream: int, day: int, columns: int | None = None) -> FloatArray:
        if day < 0:
            raise ValueError(f"Routine: times must be after 1970 (local day >= 0), got day {day}")
        rng = np.random.default_rng([self.seed, stream, day])
        return rng.random(self.n) if columns is None else rng.random((self.n, columns))

    def _wake_hours(self, day: int) -> FloatArray:
        return self.homes.wake_hour + self.homes.drift_h * (2.0 * self._uniform(_STREAM_WAKE, day) - 1.0)

    def _sleep_hours(self, day: int) -> FloatArray:
        return self.homes.sleep_hour + self.homes.drift_h * (2.0 * self._uniform(_STREAM_SLEEP, day) - 1.0)

    # -- one day -------------------------------------------------------------
    def plan(self, day: int) -> DayPlan:
        """The day's events (cached: a round touches two or three days)."""
        if day in self._plans:
            self._plans.move_to_end(day)
            return self._plans[day]
        plan = self._make_plan(day)
        self._plans[day] = plan
        while len(self._plans) > self._cache_days:
            self._plans.popitem(last=False)
        return plan

    def _make_plan(self, day: int) -> DayPlan:
        u = _Uniforms(self._uniform(_STREAM_DAY, day, _DRAW_COLUMNS))
        midnight = self.midnight(day)
        sleep_prev = self.midnight(day - 1) + self._sleep_hours(day - 1) * HOUR
        wake = np.clip(midnight + self._wake_hours(day) * HOUR,
                       sleep_prev + MIN_NIGHT_H * HOUR, sleep_prev + MAX_NIGHT_H * HOUR)
        sleep = np.maximum(midnight + self._sleep_hours(day) * HOUR, wake + 12.0 * HOUR)
        d = _Day(midnight, sleep_prev, wake, sleep)
        water_t, water_l, meals = self._water_events(d, u)
        start, end, watts, gas = self._appliance_episodes(d, u, meals)
        return DayPlan(day, wake, sleep, water_t, water_l, start, end, watts, gas)

    def _water_events(self, d: _Day, u: _Uniforms) -> tuple[FloatArray, FloatArray, _Meals]:
        h, n = self.homes, self.n
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
        # One guaranteed event per 1.5 h block of the waking day: no awake gap above 3 h.
        block_start = wake + np.arange(N_BLOCKS) * BLOCK_H * HOUR
        block_valid = block_start < sleep
        block_len = np.maximum(np.minimum(block_start + BLOCK_H * HOUR, sleep) - block_start, 0.0)
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
        # An evening shower on some days.
        shower_t = d.sleep - (60.0 + 90.0 * u.take()) * MINUTE
        shower_valid = (u.take() < h.shower_p) & (shower_t > d.wake)
        add(shower_t, 30.0 + 20.0 * u.take(), shower_valid)

        raw_l = np.concatenate(litres, axis=1)
        water_l = np.where(raw_l > 0.0, np.maximum(raw_l * self._scale[:, None], 1.0), 0.0)
        return np.concatenate(times, axis=1), water_l, _Meals(meal_t, meal_valid, shower_t, shower_valid)

    def _appliance_episodes(self, d: _Day, u: _Uniforms, m: _Meals) -> tuple[FloatArray, ...]:
        """Start, end, watts and gas litres/hour of each episode (households × episodes)."""
        h, n = self.homes, self.n
        cook_w = np.where(h.has_gas, 0.0, h.cooking_w)[:, None] * (0.8 + 0.4 * u.take(3))
        cook_gas = np.where(h.has_gas, 1.0, 0.0)[:, None] * (
            GAS_COOKING_LPH[0] + (GAS_COOKING_LPH[1] - GAS_COOKING_LPH[0]) * u.take(3)
        )
        cook_dur = np.array([10.0, 20.0, 20.0]) * MINUTE * (1.0 + u.take(3))
        evening_start = d.midnight + (18.5 + u.take()) * HOUR
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
            *((m.meal_t[:, k] - cook_dur[:, k], cook_dur[:, k], cook_w[:, k], cook_gas[:, k], m.meal_valid[:, k])
              for k in range(3)),
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

    # -- one interval ----------------------------------------------------------
    def usage(self, t0: float, t1: float, active_until: FloatArray | None = None) -> Usage:
        """Water litres, electricity Wh and gas litres of every household in [t0, t1).

        ``active_until`` (epoch seconds per household, ``inf`` for none) stops a home's
        activity: from then on no water, no gas and only the base electrical load.
        """
        if not t1 > t0:
            raise ValueError(f"Routine.usage: t1 must be > t0, got t0={t0}, t1={t1}")
        until = np.full(self.n, np.inf) if active_until is None else np.asarray(active_until, dtype=np.float64)
        if until.shape != (self.n,):
            raise ValueError(f"Routine.usage: active_until must have one entry per household ({self.n}), got shape {until.shape}")
        water = np.zeros(self.n)
        gas = np.zeros(self.n)
        electricity = self.homes.base_load_w * ((t1 - t0) / HOUR)
        until_col = until[:, None]
        # A day's events lie within [midnight - 4 h, midnight + 25 h].
        first = int(np.floor((t0 + self.offset_s - 25.0 * HOUR) / DAY))
        last = int(np.floor((t1 + self.offset_s + 4.0 * HOUR) / DAY))
        for day in range(max(first, 0), last + 1):
            p = self.plan(day)
            inside = (p.water_t >= t0) & (p.water_t < t1) & (p.water_t < until_col)
            water += np.where(inside, p.water_l, 0.0).sum(axis=1)
            on = np.clip(np.minimum(np.minimum(p.episode_end, t1), until_col) - np.maximum(p.episode_start, t0), 0.0, None)
            electricity = electricity + (on * p.episode_w).sum(axis=1) / HOUR
            gas += (on * p.episode_gas_lph).sum(axis=1) / HOUR
        return Usage(water_l=water, electricity_wh=electricity, gas_l=gas)


__all__ = ["MAX_NIGHT_H", "DayPlan", "Routine", "Usage"]
