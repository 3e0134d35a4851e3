"""The ``calibrated`` method of `lifesign learn`: each home's thresholds fitted to a false-alarm
budget, checked on held-out days (``learn: {method: calibrated}`` in thresholds.yaml).

For every household with readings:

* **silences**: the detector's own activity model replayed over the history; the silences
  between activities, by the local hour they started. Silences of ``learn.max_hours`` or
  more are absences (every allowed threshold alarms on them): counted apart.
* **tails**: per start hour, how many silences per day outlast each length, shrunk toward a
  population prior (the homes being learned, pooled, and a prior shipped from our
  simulator's homes): ``(n x own + k x prior) / (n + k)`` for n days of history, so a
  fortnight of short silences cannot produce a 2 h threshold.
* **allocation**: the false-alarm budget (``learn.false_alarms_per_month`` in
  thresholds.yaml) is spent where it buys the most detection time: each start hour gets the
  real silence it may keep, short where silences are normally short (see
  :mod:`detectors.learning.allocate`), within ``learn.min_hours`` .. ``learn.max_hours``.
  That becomes ``hours`` + ``windows`` weights; k-means shares the weights among the homes
  (a small settings table), and each home's ``hours`` is refitted under its shared weights.
* **calibration**: k-fold over the home's days: fitted on the other folds, replayed on the
  held-out one; the threshold is scaled up until the held-out alarm rate meets the budget
  (:mod:`detectors.learning.calibrate`). The reason line reports that held-out estimate.

A home with under ``min_days`` of history gets the population prior's profile. Outcomes staff
recorded (false alarms) scale a home's threshold up; homes often found away are named. The
output is a YAML file of household overrides with a one-line reason each, for an operator
to review and ``include:`` from thresholds.yaml. Learning never changes what a running
service does by itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo

import numpy as np
import numpy.typing as npt

from detectors.learning.allocate import hours_for, scaled, window_sums
from detectors.learning.calibrate import SCALES, Fit, HeldOut, held_out
from detectors.learning.calibrate import fit as fit_allowed
from detectors.learning.common import History, HomeFit, LearnSettings, outcome_scale
from detectors.learning.prior import pooled, shipped_prior
from detectors.learning.silences import exceedance_counts, silences_of, start_counts
from detectors.thresholds import LearnBudget
from detectors.timeweights import DAY_S

#: weights a learned profile may use (steps of 0.05: short YAML; k-means then shares rhythms)
LEVELS = np.round(np.arange(0.05, 1.0001, 0.05), 2)


def fit(seen: History, settings: LearnSettings, budget: LearnBudget) -> list[HomeFit]:
    """Every home with readings: its threshold and weights, fitted to ``budget``."""
    got = fit_homes(seen.act_h, seen.act_t, seen.first, seen.last, seen.tz, budget, settings, seen.false_alarms)
    fitted = []
    for k, h in enumerate(got.homes):
        rhythm = f"rhythm type {got.rhythm[k] + 1}" if len(got.shapes) > 1 else ""
        reason = _reason(k, h, got, settings, budget, float(seen.false_alarms[h]), rhythm)
        fitted.append(HomeFit(int(h), float(got.hours[k]), got.shapes[got.rhythm[k]], reason))
    return fitted


@dataclass(frozen=True)
class Learned:
    """Every learned home's thresholds, and what the reason line reports."""

    homes: npt.NDArray[np.intp]     # household index of each learned home
    hours: npt.NDArray[np.float64]  # per learned home
    shapes: npt.NDArray[np.float64]  # shared weight profiles (96 quarter hours, on LEVELS)
    rhythm: npt.NDArray[np.intp]    # per learned home: its row of ``shapes``
    days: npt.NDArray[np.float64]   # per household
    own: npt.NDArray[np.bool_]      # per household: enough history of its own
    absences: npt.NDArray[np.intp]  # per household: silences of max_hours or more
    fitted: Fit
    checked: HeldOut


def fit_homes(act_h: npt.NDArray[np.int32], act_t: npt.NDArray[np.float64], first: npt.NDArray[np.float64],
              last: npt.NDArray[np.float64], tz: tzinfo, budget: LearnBudget, settings: LearnSettings,
              false_alarms: npt.NDArray[np.float64] | None = None) -> Learned:
    """Thresholds from activity (household, time; sorted) and each household's first and last
    reading (inf / -inf: none). ``false_alarms``: per household, on record."""
    n, folds = len(first), settings.folds
    seen = np.isfinite(first)
    days = np.where(seen, last - first, 0.0) / DAY_S
    own = days >= settings.min_days
    everything = silences_of(act_h, act_t, np.where(seen, first, 0.0), days, tz, folds, budget.max_hours)
    silences = everything.take(own[everything.home])
    exceed, starts = exceedance_counts(silences, n, folds), start_counts(silences, n, folds)
    fold_days = np.repeat(np.where(own, days, 0.0)[:, None] / folds, folds, axis=1)
    shipped = shipped_prior()
    checked = held_out(silences, exceed, starts, fold_days, shipped, settings.prior_days, settings.prior_homes,
                       budget, tz)
    prior = pooled(exceed.sum(axis=1), starts.sum(axis=1), fold_days.sum(axis=1), shipped, settings.prior_homes)
    homes = np.flatnonzero(seen)
    fitted = fit_allowed(exceed.sum(axis=1)[homes], starts.sum(axis=1)[homes], fold_days.sum(axis=1)[homes], prior,
                 settings.prior_days, budget)
    on_record = np.zeros(n) if false_alarms is None else false_alarms
    scale = np.where(own[homes], checked.scale[homes], checked.population_scale) * outcome_scale(on_record[homes])
    shared, group = _shared(fitted, settings)
    shapes, hours, rhythm = _final(shared, group, fitted, scale, budget)
    absences = np.bincount(everything.home[everything.absence], minlength=n)
    return Learned(homes, hours, shapes, rhythm, days, own, absences, fitted, checked)


def _shared(fitted: Fit, settings: LearnSettings) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.intp]]:
    """Weight profiles on LEVELS, shared by k-means (a small settings table), and each home's."""
    def on_levels(w: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return LEVELS[np.abs(w[..., None] - LEVELS).argmin(axis=-1)]

    distinct = len(np.unique(on_levels(fitted.shape), axis=0))  # k-means needs as many distinct rhythms
    if not 0 < settings.archetypes < distinct:
        return on_levels(fitted.shape), np.arange(len(fitted.shape))
    from sklearn.cluster import KMeans  # heavy imports only when learning

    kmeans = KMeans(n_clusters=settings.archetypes, n_init=4, random_state=settings.seed).fit(fitted.shape)
    centers = kmeans.cluster_centers_
    # the heaviest hour weighs 1: ``hours`` is then the real silence that alarms at the busiest time
    return on_levels(centers / centers.max(axis=1, keepdims=True)), np.asarray(kmeans.labels_, dtype=np.intp)


def _final(shapes: npt.NDArray[np.float64], rhythm: npt.NDArray[np.intp], fitted: Fit,
           scale: npt.NDArray[np.float64], budget: LearnBudget
           ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.intp]]:
    """Each home's threshold under its shared weights (every silence its allowed lengths let
    pass stays under it), scaled as the held-out check asked, within the real-hour bounds.
    A scaled-up threshold raises the quiet hours' weights (max_hours): those few variants
    of the shared profiles are rows of their own."""
    base = hours_for(shapes[rhythm], fitted.allowed)
    mine, hours = scaled(shapes[rhythm], base, scale, budget.min_hours, budget.max_hours)
    mine = LEVELS[np.minimum(np.searchsorted(LEVELS, mine - 1e-9), len(LEVELS) - 1)]  # up: stays in bounds
    hours = np.ceil(hours * 4 - 1e-6) / 4
    hours = np.minimum(hours, np.floor(window_sums(mine, np.full(mine.shape, budget.max_hours * 4)).min(axis=1) * 4
                                       + 1e-6) / 4)
    distinct, rows = np.unique(mine, axis=0, return_inverse=True)
    return distinct, np.maximum(hours, 0.25), rows.reshape(-1).astype(np.intp)


def _reason(k: int, h: int, got: Learned, settings: LearnSettings, budget: LearnBudget, false_alarms: float,
            rhythm: str) -> str:
    allowed, checked, days, hours = got.fitted.allowed[k], got.checked, got.days[h], got.hours[k]
    if got.own[h]:
        head = (f"{days:.0f} days: held-out {checked.rate[h]:.2f} alarms/month at {hours:g} h "
                f"({checked.alarms[h, np.searchsorted(SCALES, checked.scale[h])]:.0f} in "
                f"{checked.months[h]:.1f} held-out months, x{checked.scale[h]:g}); "
                f"prior-weighted (n={days:.0f} of k={settings.prior_days:g})")
    else:
        head = (f"{days:.1f} days: too little history, the population prior at {hours:g} h "
                f"(population held-out {checked.population_rate:.2f} alarms/month)")
    parts = [head, f"budget {budget.false_alarms_per_month:g}/month",
             f"allowed silence {allowed.min():g}-{allowed.max():g} h by start hour"]
    if rhythm:
        parts.append(rhythm)
    if got.absences[h]:
        parts.append(f"{got.absences[h]} silence(s) of {budget.max_hours:g} h or more left out as absences")
    if false_alarms:
        parts.append(f"{false_alarms:.0f} false alarm(s) on record: threshold x{float(outcome_scale(false_alarms)):.2f}")
    return ", ".join(parts)
