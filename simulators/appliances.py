"""The loads that run by themselves: cold appliances and standby, per home, in closed form.

Two models (``make_cohort(appliances=...)``, scenario file ``cohort.appliances``):

* ``simple`` (the default; the homes lifesign was first tuned on): a fridge of 55-90 W
  at 30-50 % duty, one cycle every 40-60 min, and a standby of 8-16 W. Asleep, such a
  home never draws 150 W.
* ``realistic`` (what independent data showed, issue 11):

  - a fridge or fridge-freezer whose compressor draws 100-250 W at 25-50 % duty, one
    cycle every 30-90 min;
  - in ``FREEZER_SHARE`` of homes a second appliance, a freezer: 80-150 W, 30-50 %,
    40-90 min;
  - in ``DEFROST_SHARE`` of homes a defrost heater: 150-300 W for 15-30 min every 8-24 h;
  - a standby from a skewed draw, ``10 + 20·exp(0.9·z)`` W clipped at 300 W: median
    30 W, about 85 % of homes under 60 W, 1.5 % over 150 W (routers, a PC left on, a
    dehumidifier), drifting slowly by up to ±5 % over 3-10 days.

These run whether or not anyone is home, also after an incident. With the lifestyle's
``fridge_cycles`` each appliance cycles (on for ``duty`` of every period, from its own
phase); without it the home draws its flat ``base_load_w``, their average. Energy per
round is computed in closed form, not cycle by cycle: a million homes run about 70 M
compressor cycles a day.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
APPLIANCE_MODELS = ("simple", "realistic")
FREEZER_SHARE = 0.3
DEFROST_SHARE = 0.5
STANDBY_MAX_W = 300.0
HOUR, DAY = 3600.0, 86400.0
# A stream of their own: the realistic draw leaves every other column of a home alone.
_STREAM_APPLIANCES = 0x434F4C44
_COLUMNS = 16


class AutomaticLoads(Protocol):
    """The columns of :class:`simulators.cohort.HomeProfiles` this module reads (so the
    cohort, which draws them here, is not imported back); read-only, as HomeProfiles is frozen."""

    @property
    def standby_w(self) -> FloatArray: ...

    @property
    def standby_drift(self) -> FloatArray: ...

    @property
    def standby_drift_days(self) -> FloatArray: ...

    @property
    def standby_drift_phase(self) -> FloatArray: ...

    @property
    def fridge_on_w(self) -> FloatArray: ...

    @property
    def fridge_duty(self) -> FloatArray: ...

    @property
    def fridge_period_min(self) -> FloatArray: ...

    @property
    def fridge_phase(self) -> FloatArray: ...

    @property
    def freezer_on_w(self) -> FloatArray: ...

    @property
    def freezer_duty(self) -> FloatArray: ...

    @property
    def freezer_period_min(self) -> FloatArray: ...

    @property
    def freezer_phase(self) -> FloatArray: ...

    @property
    def defrost_w(self) -> FloatArray: ...

    @property
    def defrost_every_h(self) -> FloatArray: ...

    @property
    def defrost_min(self) -> FloatArray: ...

    @property
    def defrost_phase(self) -> FloatArray: ...


def draw_automatic_loads(n: int, seed: int, model: str, simple: dict[str, FloatArray]) -> dict[str, FloatArray]:
    """The appliance columns of :class:`HomeProfiles`; ``simple`` holds the simple model's
    fridge and standby (drawn with the other profile columns), kept as they are for it."""
    if model not in APPLIANCE_MODELS:
        raise ValueError(f"make_cohort: appliances must be one of {', '.join(APPLIANCE_MODELS)}, got {model!r}")
    if model == "simple":  # no freezer, no defrost heater, a constant standby
        none = {k: np.zeros(n) for k in ("freezer_on_w", "freezer_duty", "freezer_phase", "defrost_w", "defrost_min",
                                          "defrost_phase", "standby_drift", "standby_drift_phase")}
        return {**simple, **none, "freezer_period_min": np.full(n, 60.0), "defrost_every_h": np.full(n, 12.0),
                "standby_drift_days": np.full(n, 7.0)}
    rng = np.random.default_rng([seed, _STREAM_APPLIANCES])
    u = rng.random((n, _COLUMNS))
    z = np.random.default_rng([seed, _STREAM_APPLIANCES, 1]).standard_normal(n)
    freezer = u[:, 4] < FREEZER_SHARE
    defrost = u[:, 9] < DEFROST_SHARE
    return {
        "standby_w": np.minimum(10.0 + 20.0 * np.exp(0.9 * z), STANDBY_MAX_W),
        "fridge_on_w": 100.0 + 150.0 * u[:, 0],
        "fridge_duty": 0.25 + 0.25 * u[:, 1],
        "fridge_period_min": 30.0 + 60.0 * u[:, 2],
        "fridge_phase": u[:, 3],
        "freezer_on_w": np.where(freezer, 80.0 + 70.0 * u[:, 5], 0.0),
        "freezer_duty": np.where(freezer, 0.3 + 0.2 * u[:, 6], 0.0),
        "freezer_period_min": 40.0 + 50.0 * u[:, 7],
        "freezer_phase": u[:, 8],
        "defrost_w": np.where(defrost, 150.0 + 150.0 * u[:, 10], 0.0),
        "defrost_every_h": 8.0 + 16.0 * u[:, 11],
        "defrost_min": np.where(defrost, 15.0 + 15.0 * u[:, 12], 0.0),
        "defrost_phase": u[:, 13],
        "standby_drift": np.full(n, 0.05),
        "standby_drift_days": 3.0 + 7.0 * u[:, 14],
        "standby_drift_phase": u[:, 15],
    }


def average_w(h: dict[str, FloatArray]) -> FloatArray:
    """Standby plus every cold appliance's average draw: the flat base load."""
    defrost_share = h["defrost_min"] / 60.0 / h["defrost_every_h"]
    return h["standby_w"] + h["fridge_on_w"] * h["fridge_duty"] + h["freezer_on_w"] * h["freezer_duty"] + h["defrost_w"] * defrost_share


def running_s(t: FloatArray, period: FloatArray, phase: FloatArray, duty: FloatArray) -> FloatArray:
    """Seconds an appliance has run from its phase to ``t``: ``duty`` of every ``period``."""
    u = t / period - phase
    whole = np.floor(u)
    return period * (whole * duty + np.minimum(u - whole, duty))


def _on_s(bounds: FloatArray, running: Callable[[FloatArray, IntArray], FloatArray],
          cuts: list[tuple[IntArray, FloatArray]]) -> FloatArray:
    """Per round, the diff of ``running(t, rows)`` (seconds on, or an integral) between
    ``bounds``, less its part inside ``cuts``: (rows, [a, b]) spans without power."""
    every = np.arange(len(bounds))
    on_s = np.diff(running(bounds, every), axis=1)
    for rows, ab in cuts:
        cut = np.clip(bounds[rows], ab[:, :1], ab[:, 1:])
        on_s[rows] -= np.diff(running(cut, rows), axis=1)
    return on_s


def _cycling(period_s: FloatArray, phase: FloatArray, duty: FloatArray) -> Callable[[FloatArray, IntArray], FloatArray]:
    return lambda t, rows: running_s(t, period_s[rows, None], phase[rows, None], duty[rows, None])


def _subset(running: Callable[[FloatArray, IntArray], FloatArray],
            rows: IntArray) -> Callable[[FloatArray, IntArray], FloatArray]:
    """``running`` of the homes ``rows`` picks, indexed from 0 like ``rows`` itself."""
    return lambda t, k: running(t, rows[k])


def automatic_wh(h: AutomaticLoads, bounds: FloatArray, cuts: list[tuple[IntArray, FloatArray]]) -> FloatArray:
    """Wh per round (between ``bounds``, homes × rounds + 1) of the cycling cold appliances
    and the standby's drift (the constant standby itself is accrued with the appliances)."""
    wh = _on_s(bounds, _cycling(h.fridge_period_min * 60.0, h.fridge_phase, h.fridge_duty), cuts) * h.fridge_on_w[:, None]
    every_s = h.defrost_every_h * HOUR
    drift = h.standby_drift > 0.0
    omega = 2.0 * np.pi / (h.standby_drift_days * DAY)

    def drift_integral(t: FloatArray, rows: IntArray) -> FloatArray:
        return -np.cos(omega[rows, None] * t + 2.0 * np.pi * h.standby_drift_phase[rows, None]) / omega[rows, None]

    for on_w, running in (
        (h.freezer_on_w, _cycling(h.freezer_period_min * 60.0, h.freezer_phase, h.freezer_duty)),
        (h.defrost_w, _cycling(every_s, h.defrost_phase, h.defrost_min * 60.0 / every_s)),
        # standby × (1 + drift · sin(ωt + φ)): the sine's integral, in watt-seconds per watt
        (np.where(drift, h.standby_w * h.standby_drift, 0.0), drift_integral),
    ):
        rows = np.flatnonzero(on_w > 0.0)  # only the homes that have one: most have no freezer
        if len(rows):
            sub = [(np.flatnonzero(np.isin(rows, r)), ab[np.isin(r, rows)]) for r, ab in cuts]
            wh[rows] += _on_s(bounds[rows], _subset(running, rows), sub) * on_w[rows, None]
    return np.round(wh / HOUR, 6)


__all__ = [
    "APPLIANCE_MODELS",
    "DEFROST_SHARE",
    "FREEZER_SHARE",
    "STANDBY_MAX_W",
    "AutomaticLoads",
    "automatic_wh",
    "average_w",
    "draw_automatic_loads",
    "running_s",
]
