"""The lifestyle additions to one day's plan (see :mod:`simulators.lifestyle` for the model)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from simulators.cohort import HomeProfiles
from simulators.lifestyle import (
    BATH_L,
    LAUNDRY_FILL_L,
    VISITOR_EVENTS,
    WASHER_W,
    Lifestyle,
    weekday,
)

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
HOUR, MINUTE = 3600.0, 60.0
_HEATER_W, _GAS_HEATER_LPH, _GAS_COOK_LPH, _VISITOR_COOK_W, _VISITOR_TV_W = 2000.0, 2000.0, 400.0, 1500.0, 150.0


class _Draws(Protocol):
    def take(self, k: int = 1) -> FloatArray: ...


@dataclass(frozen=True)
class Extras:
    water_t: FloatArray
    water_l: FloatArray
    #: per water column: scaled to the resident's daily litres (False: visitors' own use)
    scaled: BoolArray
    start: FloatArray
    end: FloatArray
    watts: FloatArray
    gas_lph: FloatArray
    nap_start: FloatArray | None
    nap_end: FloatArray | None


def lifestyle_extras(life: Lifestyle, day: int, midnight: float, wake: FloatArray, sleep: FloatArray,
                     h: HomeProfiles, v: _Draws, shower_valid: BoolArray, season: float) -> Extras:
    """Extra water events and appliance episodes of one day, for a block of homes.

    Every draw is taken whether or not its behaviour is on, so switching one behaviour
    does not reshuffle the others.
    """
    n = len(h)
    gas = h.has_gas
    water_t: list[FloatArray] = []
    water_l: list[FloatArray] = []
    scaled: list[bool] = []
    episodes: list[tuple[FloatArray, FloatArray, FloatArray, FloatArray, BoolArray]] = []

    def water(t: FloatArray, litres: FloatArray, valid: BoolArray, is_scaled: bool) -> None:
        water_t.append(t)
        water_l.append(np.where(valid, litres, 0.0))
        scaled.append(is_scaled)

    # Bath (instead of a shower): two fills five minutes apart, heater for half an hour.
    b = v.take(3)
    bath_day = (life.baths & (b[:, 0] < h.baths_per_week / 7.0)) & ~shower_valid
    bath_t = sleep - (60.0 + 60.0 * b[:, 1]) * MINUTE
    bath_day = bath_day & (bath_t > wake)
    half = 0.5 * (BATH_L[0] + (BATH_L[1] - BATH_L[0]) * b[:, 2])
    water(bath_t, half, bath_day, True)
    water(bath_t + 5.0 * MINUTE, half, bath_day, True)
    episodes.append((bath_t, bath_t + 30.0 * MINUTE, np.where(gas, 0.0, _HEATER_W), np.where(gas, _GAS_HEATER_LPH, 0.0), bath_day))

    # Laundry: three fills over 40 minutes, the machine on for an hour.
    w = v.take(5)
    laundry_day = life.laundry & (w[:, 0] < h.laundry_per_week / 7.0)
    t0 = np.maximum(midnight + (9.0 + 2.0 * w[:, 1]) * HOUR, wake + 30.0 * MINUTE)
    laundry_day = laundry_day & (t0 + HOUR < sleep)
    for k, offset in enumerate((0.0, 15.0, 40.0)):
        water(t0 + offset * MINUTE, LAUNDRY_FILL_L[0] + (LAUNDRY_FILL_L[1] - LAUNDRY_FILL_L[0]) * w[:, 2 + k], laundry_day, True)
    episodes.append((t0, t0 + HOUR, np.full(n, WASHER_W), np.zeros(n), laundry_day))

    # Visitors: family in for the middle of the day.
    q = v.take(3 + 2 * VISITOR_EVENTS)
    p = h.visitor_p * (2.0 if life.weekends and weekday(day) >= 5 else 1.0)
    arrive = np.maximum(midnight + (10.0 + q[:, 1]) * HOUR, wake)
    leave = np.minimum(arrive + (4.0 + 2.0 * q[:, 2]) * HOUR, sleep)
    visit = (life.visitors & (q[:, 0] < p)) & (leave > arrive + HOUR)
    for k in range(VISITOR_EVENTS):
        water(arrive + q[:, 3 + k] * (leave - arrive), 3.0 + 6.0 * q[:, 3 + VISITOR_EVENTS + k], visit, False)
    cook = arrive + 1.5 * HOUR
    episodes.append((cook, cook + 30.0 * MINUTE, np.where(gas, 0.0, _VISITOR_COOK_W), np.where(gas, _GAS_COOK_LPH, 0.0), visit))
    episodes.append((arrive, leave, np.full(n, _VISITOR_TV_W), np.zeros(n), visit))

    # Heating on winter evenings, air conditioning on summer afternoons.
    c = v.take(2)
    heat = (life.seasons and season > 0.3) & (h.climate_w > 0)
    cool = (life.seasons and season < -0.3) & (h.climate_w > 0)
    c_start = midnight + np.where(heat, 18.5, 13.5) * HOUR + c[:, 0] * HOUR
    c_end = np.minimum(c_start + (2.0 + 2.0 * c[:, 1]) * HOUR, sleep)
    c_w = h.climate_w * np.where(heat, abs(season), 0.7 * abs(season))
    episodes.append((np.maximum(c_start, wake), c_end, c_w, np.zeros(n), (heat | cool) & (c_end > c_start)))

    # An afternoon nap (not on visitor days).
    z = v.take(3)
    nap = (life.naps & (z[:, 0] < h.nap_p)) & ~visit
    nap_start = midnight + (13.0 + 1.5 * z[:, 1]) * HOUR
    nap_end = nap_start + (1.0 + 1.5 * z[:, 2]) * h.nap_scale * HOUR
    nap = nap & (nap_start > wake) & (nap_end < sleep)

    start, end, watts, gas_lph, valid = (np.stack(col, axis=1) for col in zip(*episodes))
    ok = valid & (end > start)
    return Extras(
        water_t=np.stack(water_t, axis=1),
        water_l=np.stack(water_l, axis=1),
        scaled=np.array(scaled),
        start=start,
        end=np.where(ok, end, start),
        watts=np.where(ok, watts, 0.0),
        gas_lph=np.where(ok, gas_lph, 0.0),
        nap_start=np.where(nap, nap_start, np.inf) if life.naps else None,
        nap_end=np.where(nap, nap_end, np.inf) if life.naps else None,
    )


__all__ = ["Extras", "lifestyle_extras"]
