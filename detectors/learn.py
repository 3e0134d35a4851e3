"""Learned thresholds: each household's own rhythm, fitted to a false-alarm budget held out.

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
from datetime import UTC, datetime, tzinfo

import numpy as np
import numpy.typing as npt

from detectors.learning.allocate import hours_for, scaled, window_sums
from detectors.learning.calibrate import SCALES, Fit, HeldOut, fit, held_out
from detectors.learning.prior import pooled, shipped_prior
from detectors.learning.silences import exceedance_counts, silences_of, start_counts
from detectors.thresholds import Layer, LearnBudget, Thresholds, Window
from detectors.timeweights import DAY_S, QUARTERS
from lifesign.readings import ReadingBatch
from lifesign.registry import Registry

#: weights a learned profile may use (steps of 0.05: short YAML; k-means then shares rhythms)
LEVELS = np.round(np.arange(0.05, 1.0001, 0.05), 2)


@dataclass(frozen=True)
class Suggestion:
    household_id: str
    layer: Layer
    reason: str


@dataclass(frozen=True)
class LearnSettings:
    #: the budget and bounds; None: the thresholds file's ``learn:`` section
    budget: LearnBudget | None = None
    #: k of the empirical-Bayes weight n / (n + k): the prior counts as this many days
    prior_days: float = 14.0
    #: the shipped prior counts as this many homes beside the homes being learned
    prior_homes: float = 10.0
    #: folds of each home's days for the held-out check
    folds: int = 5
    #: under this many days of history a home gets the population prior's profile
    min_days: float = 7.0
    #: group the homes' rhythms into this many shared weight profiles (0: one per home)
    archetypes: int = 32
    seed: int = 0


@dataclass(frozen=True)
class OutcomeRecord:
    """What staff found at a household's door before (resolved orders' outcomes)."""

    false_alarms: int = 0
    away: int = 0


#: each false alarm on record scales a home's threshold up by this share, up to MAX_MARGIN_SCALE
FALSE_ALARM_MARGIN = 0.25
MAX_MARGIN_SCALE = 2.0


def outcome_records(outcomes: list[tuple[str, str, str, float]]) -> dict[str, OutcomeRecord]:
    """Per household, its ``false_alarm`` and ``away`` outcomes of welfare (no_usage) orders.

    >>> outcome_records([("H1", "no_usage", "false_alarm", 0.0), ("H1", "no_usage", "away", 1.0),
    ...                  ("H2", "meter_offline", "false_alarm", 2.0)])
    {'H1': OutcomeRecord(false_alarms=1, away=1)}
    """
    counts: dict[str, list[int]] = {}
    for household_id, rule, outcome, _ in outcomes:
        if rule != "no_usage" or outcome not in ("false_alarm", "away"):
            continue  # a meter fault or a leak says nothing about the home's rhythm
        c = counts.setdefault(household_id, [0, 0])
        c[0 if outcome == "false_alarm" else 1] += 1
    return {h: OutcomeRecord(*c) for h, c in counts.items()}


def learn(registry: Registry, history: ReadingBatch, thresholds: Thresholds,
          settings: LearnSettings = LearnSettings(),
          records: dict[str, OutcomeRecord] | None = None) -> list[Suggestion]:
    """Suggested overrides for every household with readings in ``history``.

    ``records``: what staff found before. A home with false alarms on record gets a higher
    threshold (its history under-states its silences); one often found away is told apart
    in its reason (an absence to register, not a threshold to raise)."""
    records = records or {}
    if not len(history):
        return []
    budget = settings.budget or thresholds.learn
    n = registry.n_households
    household = registry.meter_household[history.meter]
    first, last = np.full(n, np.inf), np.full(n, -np.inf)
    np.minimum.at(first, household, history.ts)
    np.maximum.at(last, household, history.ts)
    act_h, act_t = _activity(registry, history.sorted_by_meter_time(), thresholds)
    ids = [str(h) for h in registry.household_ids]
    found = {h: records.get(ids[h], OutcomeRecord()) for h in range(n)}
    got = fit_homes(act_h, act_t, first, last, thresholds.tz(), budget, settings,
                    np.array([found[h].false_alarms for h in range(n)], dtype=float))
    suggestions = []
    for k, h in enumerate(got.homes):
        layer = Layer(no_usage_hours=float(got.hours[k]), windows=_windows(got.shapes[got.rhythm[k]]))
        rhythm = f"rhythm type {got.rhythm[k] + 1}" if len(got.shapes) > 1 else ""
        suggestions.append(Suggestion(ids[h], layer, _reason(k, h, got, settings, budget, found[h], rhythm)))
    return suggestions


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
    fitted = fit(exceed.sum(axis=1)[homes], starts.sum(axis=1)[homes], fold_days.sum(axis=1)[homes], prior,
                 settings.prior_days, budget)
    on_record = np.zeros(n) if false_alarms is None else false_alarms
    scale = np.where(own[homes], checked.scale[homes], checked.population_scale) * np.minimum(
        1.0 + FALSE_ALARM_MARGIN * on_record[homes], MAX_MARGIN_SCALE)
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


def _reason(k: int, h: int, got: Learned, settings: LearnSettings, budget: LearnBudget, found: OutcomeRecord,
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
    if found.false_alarms:
        factor = min(1.0 + FALSE_ALARM_MARGIN * found.false_alarms, MAX_MARGIN_SCALE)
        parts.append(f"{found.false_alarms} false alarm(s) on record: threshold x{factor:.2f}")
    if found.away:
        parts.append(f"found away {found.away} time(s): ask that absences be reported")
    return ", ".join(parts)


def _activity(registry: Registry, history: ReadingBatch, thresholds: Thresholds
              ) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float64]]:
    """(household, time) of every activity in ``history``, sorted, by the detector's own
    activity model: what learning calls a sign of life is what the detector will."""
    from detectors.detector import Detector  # the detector's state, not a second definition

    detector = Detector(registry, thresholds)
    meters, times = detector.activity_in(history)
    household = registry.meter_household[meters]
    order = np.lexsort((times, household))
    act_h, act_t = household[order].astype(np.int32), times[order]
    keep = np.ones(len(act_h), dtype=bool)
    keep[1:] = (act_h[1:] != act_h[:-1]) | (act_t[1:] != act_t[:-1])
    return act_h[keep], act_t[keep]


def _windows(weights: npt.NDArray[np.float64]) -> tuple[Window, ...]:
    """Runs of quarter hours whose weight is not 1, as windows (midnight-wrapping merged)."""
    runs: list[list[float]] = []
    for q in range(QUARTERS):
        w = float(weights[q])
        if runs and runs[-1][2] == w and runs[-1][1] == q:
            runs[-1][1] = q + 1
        else:
            runs.append([q, q + 1, w])
    if len(runs) == 1:
        return ()  # one weight all day: the threshold alone says it
    if runs[0][2] == runs[-1][2] and runs[-1][1] == QUARTERS and runs[0][0] == 0:
        runs[0][0] = runs[-1][0] - QUARTERS
        runs.pop()
    return tuple(Window(int(a % QUARTERS) * 15, int(b % QUARTERS) * 15, w) for a, b, w in runs if w != 1.0)


def to_yaml(suggestions: list[Suggestion], source: str, days: float) -> str:
    """The reviewable overrides file: one household a line, its reason as a comment."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"# Suggested by `lifesign learn` from {source} ({days:.0f} days, {len(suggestions)} households), {stamp}.",
        "# Review it, then include it from thresholds.yaml (`include: [this-file.yaml]`); your own",
        "# households: entries there win. Nothing changes until you do.",
        "households:",
    ]
    for s in suggestions:
        parts = [f"hours: {s.layer.no_usage_hours:g}"]
        if s.layer.windows:
            ws = ", ".join(f'{{from: "{_hhmm(w.start_min)}", to: "{_hhmm(w.end_min)}", weight: {w.weight:g}}}'
                           for w in s.layer.windows)
            parts.append(f"windows: [{ws}]")
        extra = f", activity: {{electricity: {{min_change_w: {s.layer.min_change_w:g}}}}}" if s.layer.min_change_w else ""
        lines.append(f"  {s.household_id}: {{no_usage: {{{', '.join(parts)}}}{extra}}}  # {s.reason}")
    return "\n".join(lines) + "\n"


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
