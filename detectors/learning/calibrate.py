"""Fit, and check the fit out of sample: k-fold over each home's days.

For each fold, the thresholds are fitted on the other folds (the home's own tables and the
population prior pooled from the other folds only) and the held-out fold's silences are
replayed through them: an alarm is a silence whose weighted length reaches the threshold.
The same is done with the threshold scaled up by each factor of ``SCALES``; each home takes
the smallest factor whose held-out rate (shrunk toward the population's held-out rate at
that factor, as its tables were) meets the budget. The fit on a home's own days is never
what decides whether it meets the budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo

import numpy as np
import numpy.typing as npt

from detectors.learning.allocate import allowed_lengths, hours_for, scaled, shape_from_lengths
from detectors.learning.prior import Prior, pooled, shrunk
from detectors.learning.silences import Silences, smooth_hours
from detectors.thresholds import LearnBudget
from detectors.timeweights import Profiles

F8 = npt.NDArray[np.float64]
#: factors the fitted threshold may be scaled by to meet the budget held out (below 1: the
#: fit left budget unspent, above: it spent more than it planned)
SCALES = np.array([0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5, 1.75, 2.0, 2.5])
DAYS_PER_MONTH = 30.0
#: an hour counts as "up" (an incapacitation may start a silence there) at this share of the
#: home's busiest hour's silence starts; quieter hours still count a little
UP_SHARE = 0.25
QUIET_UP = 0.02


@dataclass(frozen=True)
class Fit:
    allowed: F8   # (home, 24) real hours a silence starting then may last
    shape: F8     # (home, 96) weights
    hours: F8     # (home,) threshold under ``shape``


@dataclass(frozen=True)
class HeldOut:
    alarms: F8    # (home, scales) held-out alarms at each scale
    months: F8    # (home,) held-out months (every day is held out once)
    scale: F8     # (home,) chosen factor
    rate: F8      # (home,) its held-out estimate, alarms per month
    #: for homes with too little history of their own: the population's factor and rate
    population_scale: float
    population_rate: float


def fit(exceed: F8, starts: F8, days: F8, prior: Prior, prior_days: float, budget: LearnBudget) -> Fit:
    """Thresholds from (home, 24, lengths) exceedance counts, (home, 24) start counts and days."""
    tails = shrunk(exceed, days, prior.exceed_per_day, prior_days)
    up_rate = shrunk(smooth_hours(starts, axis=-1), days, prior.starts_per_day, prior_days)
    up = np.minimum(1.0, up_rate / np.maximum(UP_SHARE * up_rate.max(axis=1, keepdims=True), 1e-12)) + QUIET_UP
    allowed = allowed_lengths(tails, up, budget.false_alarms_per_month / DAYS_PER_MONTH,
                              budget.min_hours, budget.max_hours)
    shape = shape_from_lengths(allowed, up, budget.max_hours)
    return Fit(allowed, shape, hours_for(shape, allowed))


def replay_alarms(s: Silences, rows: npt.NDArray[np.bool_], shape: F8, thresholds: F8, tz: tzinfo) -> F8:
    """Per home, alarms among the silences ``rows`` under its ``shape`` and threshold: a
    silence alarms once its weighted length reaches the threshold."""
    homes = s.home[rows]
    weighted_h = Profiles(shape).effective_between(homes, s.start[rows], s.end[rows], tz) / 3600.0
    return np.bincount(homes[weighted_h >= thresholds[homes] - 1e-9], minlength=len(shape)).astype(np.float64)


def held_out(s: Silences, exceed: F8, starts: F8, fold_days: F8, shipped: Prior, prior_days: float,
             prior_homes: float, budget: LearnBudget, tz: tzinfo) -> HeldOut:
    """k-fold over days: (home, fold, ...) tables in, each home's scale and held-out rate out."""
    n, folds = fold_days.shape
    alarms = np.zeros((n, len(SCALES)))
    for f in range(folds):
        train_exceed = exceed.sum(axis=1) - exceed[:, f]
        train_starts = starts.sum(axis=1) - starts[:, f]
        train_days = fold_days.sum(axis=1) - fold_days[:, f]
        prior = pooled(train_exceed, train_starts, train_days, shipped, prior_homes)
        fitted = fit(train_exceed, train_starts, train_days, prior, prior_days, budget)
        rows = (s.fold == f) & ~s.absence
        for j, factor in enumerate(SCALES):
            shape, hours = scaled(fitted.shape, fitted.hours, factor, budget.min_hours, budget.max_hours)
            alarms[:, j] += replay_alarms(s, rows, shape, hours, tz)
    months = fold_days.sum(axis=1) / DAYS_PER_MONTH
    # shrink each home's held-out rate toward the population's at the same scale, with the
    # prior's weight in months: one held-out alarm in two weeks is not 2 alarms a month
    population = alarms.sum(axis=0) / max(float(months.sum()), 1e-9)
    prior_months = prior_days / DAYS_PER_MONTH
    estimate = (alarms + prior_months * population[None, :]) / (months[:, None] + prior_months)
    meets = estimate <= budget.false_alarms_per_month + 1e-9
    pick = np.where(meets.any(axis=1), meets.argmax(axis=1), len(SCALES) - 1)
    fits = np.flatnonzero(population <= budget.false_alarms_per_month + 1e-9)
    p = int(fits[0]) if len(fits) else len(SCALES) - 1
    return HeldOut(alarms, months, SCALES[pick], estimate[np.arange(n), pick], float(SCALES[p]), float(population[p]))
