"""Learned baselines: each household's rhythm from its history, as suggested overrides.

For every household with enough history:

* **activity**: the detector's own activity model (changes of state, water above a
  constant flow), replayed over the history.
* **rhythm**: a weight for every local hour (how much an hour of silence counts),
  from a linear programme: as much weight as possible on the hours the home is
  usually up (where an incapacitation happens, so it is seen soonest), while every
  normal silence of its history (nights, naps, late mornings; silences over 14
  wall-clock hours are absences and left out) stays under ``hours / margin``.
  Weights are rounded *down* to steps of 0.1 (short YAML), so the history still fits;
  k-means groups the homes into a few dozen shared rhythms (shared settings rows).
* **threshold**: ``hours`` weighted hours (2.5 by default), or the home's longest
  weighted normal silence times the margin if that is longer. The margin is
  ``1 + 4 / days of history`` by default (a short history has not yet seen its longest
  silences), widened by a quarter for each false alarm staff recorded at the home.

The output is a YAML file of household overrides with a one-line reason each, for
an operator to review and ``include:`` from thresholds.yaml. Learning never
changes what a running service does by itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

import numpy as np
import numpy.typing as npt

from detectors.state import ELECTRICITY, activity_steps
from detectors.thresholds import Layer, Thresholds, Window
from detectors.timeweights import DAY_S, QUARTER_S, QUARTERS, Profiles, utc_offsets
from lifesign.readings import ReadingBatch
from lifesign.registry import Registry

#: weights a learned profile may use (steps of 0.1: short YAML; k-means then shares rhythms)
LEVELS = np.round(np.arange(0.1, 3.05, 0.1), 2)
ABSENCE_GAP_S = 14 * 3600.0
MIN_DAYS = 7.0


@dataclass(frozen=True)
class Suggestion:
    household_id: str
    layer: Layer
    reason: str


@dataclass(frozen=True)
class LearnSettings:
    #: the weighted silence that raises the alarm, for every home (its rhythm sets the weights)
    hours: float = 2.5
    #: every normal silence of the training history must stay under hours / margin; None:
    #: 1 + margin_days / days of history (a short history has seen fewer of its longest silences)
    margin: float | None = None
    margin_days: float = 4.0
    #: the weights a quarter hour may take; hour-to-hour steps at most max_step
    min_weight: float = 0.1
    max_weight: float = 3.0
    max_step: float = 0.75
    max_hours: float = 12.0
    #: group the homes' rhythms into this many shared weight profiles (0: one per home)
    archetypes: int = 32
    #: what the weights favour: "busy" (hours by their activity rate) or "awake" (every
    #: hour the home is usually up, alike: where an incapacitation can happen)
    objective: str = "awake"
    seed: int = 0


@dataclass(frozen=True)
class OutcomeRecord:
    """What staff found at a household's door before (resolved orders' outcomes)."""

    false_alarms: int = 0
    away: int = 0


#: each false alarm on record widens a home's margin by this share, up to MAX_MARGIN_SCALE
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
    """Suggested overrides for every household with at least a week of history.

    ``records``: what staff found before. A home with false alarms on record gets a wider
    margin (its history under-states its silences); one often found away is told apart
    in its reason (an absence to register, not a threshold to raise)."""
    records = records or {}
    if not len(history):
        return []
    tz = thresholds.tz()
    batch = history.sorted_by_meter_time()
    m, ts, value = batch.meter, batch.ts, batch.value
    household = registry.meter_household[m]
    n = registry.n_households
    act_h, act_t = _activity(registry, batch, thresholds)

    first = np.full(n, np.inf)
    last = np.full(n, -np.inf)
    np.minimum.at(first, household, ts)
    np.maximum.at(last, household, ts)
    days = np.where(np.isfinite(first), (last - first) / DAY_S, 0.0)
    learnable = days >= MIN_DAYS
    if not learnable.any():
        return []

    rates = _activity_rates(act_h, act_t, n, days, tz)
    # the home's silences (between consecutive activities); over 14 wall hours is an absence
    same_home = act_h[1:] == act_h[:-1]
    gap_h = act_h[1:][same_home]
    gap_start, gap_end = act_t[:-1][same_home], act_t[1:][same_home]
    normal = (gap_end - gap_start) <= ABSENCE_GAP_S
    gap_h, gap_start, gap_end = gap_h[normal], gap_start[normal], gap_end[normal]
    order = np.argsort(gap_h, kind="stable")
    gap_h, gap_start, gap_end = gap_h[order], gap_start[order], gap_end[order]
    bounds = np.searchsorted(gap_h, np.arange(n + 1))
    homes = [h for h in np.flatnonzero(learnable) if bounds[h + 1] - bounds[h] >= 10]
    if not homes:
        return []
    margins = np.array([settings.margin if settings.margin is not None else 1.0 + settings.margin_days / days[h]
                        for h in homes])
    found = [records.get(str(registry.household_ids[h]), OutcomeRecord()) for h in homes]
    margins *= np.minimum(1.0 + FALSE_ALARM_MARGIN * np.array([r.false_alarms for r in found], dtype=float),
                          MAX_MARGIN_SCALE)
    hourly = np.array([_lp_weights(gap_start[bounds[h]:bounds[h + 1]], gap_end[bounds[h]:bounds[h + 1]],
                                   rates[h], tz, settings, settings.hours / margins[k]) for k, h in enumerate(homes)])
    quantized = LEVELS[np.searchsorted(LEVELS, hourly + 1e-9, side="right") - 1]
    rhythm = np.arange(len(homes))
    if 0 < settings.archetypes < len(homes):
        # K-means groups the rhythms into shared weight profiles (a small settings table for a
        # city); each home's threshold below is then fitted to its own history under its group's weights
        from sklearn.cluster import KMeans  # heavy imports only when learning

        kmeans = KMeans(n_clusters=settings.archetypes, n_init=4, random_state=settings.seed).fit(quantized)
        rhythm = kmeans.labels_
        quantized = LEVELS[np.abs(kmeans.cluster_centers_[:, :, None] - LEVELS).argmin(axis=2)]
    suggestions = []
    for k, h in enumerate(homes):
        lo, hi = bounds[h], bounds[h + 1]
        starts, ends = gap_start[lo:hi], gap_end[lo:hi]
        weights = np.repeat(quantized[rhythm[k]], 4)
        weighted = Profiles(weights[None, :]).effective_between(np.zeros(hi - lo, dtype=np.intp), starts, ends, tz)
        longest = float(weighted.max())
        need_h = max(settings.hours, longest * margins[k] / 3600.0)
        hours = float(min(np.ceil(need_h * 4) / 4, settings.max_hours))
        quiet = weights <= 0.25
        layer = Layer(no_usage_hours=hours, windows=_windows(weights))
        reason = (f"{days[h]:.0f} days: longest normal silence {float((ends - starts).max()) / 3600:.1f} h "
                  f"(weighted {longest / 3600:.1f} h), {quiet.sum() / 4:.1f} quiet h a day"
                  + (f", rhythm type {rhythm[k] + 1}" if 0 < settings.archetypes < len(homes) else "")
                  + (f", {found[k].false_alarms} false alarm(s) on record: margin x{margins[k]:.2f}"
                     if found[k].false_alarms else "")
                  + (f", found away {found[k].away} time(s): ask that absences be reported" if found[k].away else ""))
        suggestions.append(Suggestion(str(registry.household_ids[h]), layer, reason))
    return suggestions


def _lp_weights(starts: npt.NDArray[np.float64], ends: npt.NDArray[np.float64], rates: npt.NDArray[np.float64],
                tz: tzinfo, settings: LearnSettings, budget: float) -> npt.NDArray[np.float64]:
    """Hourly weights that make busy hours count most while every normal silence of the
    history stays under hours / margin (a linear programme)."""
    long_enough = (ends - starts) >= budget / settings.max_weight * 3600.0
    a = starts[long_enough] + utc_offsets(tz, starts[long_enough])
    b = ends[long_enough] + utc_offsets(tz, ends[long_enough])
    hours = np.arange(24) * 3600.0

    def covered(t: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Seconds spent in each local hour of the day from the epoch to t."""
        day, into = np.divmod(t, DAY_S)
        return day[:, None] * 3600.0 + np.clip(into[:, None] - hours[None, :], 0.0, 3600.0)

    overlap = (covered(b) - covered(a)) / 3600.0 if len(a) else np.zeros((0, 24))
    step = np.zeros((48, 24))
    for k in range(24):
        step[2 * k, k], step[2 * k, (k + 1) % 24] = 1.0, -1.0
        step[2 * k + 1, k], step[2 * k + 1, (k + 1) % 24] = -1.0, 1.0
    from scipy.optimize import linprog

    busy = rates.reshape(24, 4).sum(axis=1)
    if settings.objective == "awake":
        busy = (busy >= 0.25 * busy.max()).astype(float)
    busy = busy + 1e-3
    result = linprog(-busy, A_ub=np.vstack([overlap, step]),
                     b_ub=np.concatenate([np.full(len(overlap), budget), np.full(48, settings.max_step)]),
                     bounds=[(settings.min_weight, settings.max_weight)] * 24, method="highs")
    if not result.success:  # a history no weights fit: count every hour the least
        return np.full(24, settings.min_weight)
    return np.asarray(result.x)


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


def _activity_rates(act_h: npt.NDArray[np.int32], act_t: npt.NDArray[np.float64], n: int,
                    days: npt.NDArray[np.float64], tz: tzinfo) -> npt.NDArray[np.float64]:
    """Per household and local quarter hour: active intervals per day, smoothed over ±30 min."""
    local = act_t + utc_offsets(tz, act_t)
    quarter = ((local % DAY_S) // QUARTER_S).astype(np.intp)
    counts = np.zeros((n, QUARTERS))
    np.add.at(counts, (act_h, quarter), 1.0)
    rates = counts / np.maximum(days, 1.0)[:, None]
    kernel = np.array([1.0, 2.0, 3.0, 2.0, 1.0]) / 9.0
    padded = np.concatenate([rates[:, -2:], rates, rates[:, :2]], axis=1)
    return np.stack([np.convolve(row, kernel, mode="valid") for row in padded]) if n else rates


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
