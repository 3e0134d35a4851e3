"""Learned baselines: each household's thresholds from its history, as suggested overrides.

Two methods, chosen by ``learn.method`` in thresholds.yaml (or ``LearnSettings.method``):

* ``rhythm`` (the default; :mod:`detectors.learning.rhythm`): hourly weights from a linear
  programme that puts weight on the hours the home is usually up while every normal silence
  of its history stays under the threshold with a margin. Soonest detection on our simulator.
* ``calibrated`` (:mod:`detectors.learning.calibrated`): per-start-hour silence tails shrunk
  toward a population prior, fitted to the false-alarm budget of the ``learn:`` section and
  checked on held-out days. Fewest false alarms on real homes.

This module is what both share: the activity they learn from (the detector's own activity
model replayed over the history), the outcomes staff recorded, the suggestions (``hours`` +
``windows`` with a one-line reason) and the YAML file an operator reviews and ``include:``s
from thresholds.yaml. Learning never changes what a running service does by itself.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from detectors.learning.common import (  # noqa: F401  (the front re-exports them)
    FALSE_ALARM_MARGIN,
    MAX_MARGIN_SCALE,
    History,
    HomeFit,
    LearnSettings,
    OutcomeRecord,
    Suggestion,
    outcome_records,
    outcome_scale,
)
from detectors.settings import resolve_settings
from detectors.thresholds import LEARN_METHODS, Layer, Thresholds, Window
from detectors.timeweights import QUARTERS
from lifesign.readings import ReadingBatch
from lifesign.registry import Registry

#: the settings a caller that names none gets (frozen: one instance serves every call)
DEFAULT_SETTINGS = LearnSettings()


def learn(registry: Registry, history: ReadingBatch, thresholds: Thresholds,
          settings: LearnSettings = DEFAULT_SETTINGS,
          records: dict[str, OutcomeRecord] | None = None) -> list[Suggestion]:
    """Suggested overrides for the households ``settings.method`` (else the thresholds file's
    ``learn.method``) can learn from ``history``.

    ``records``: what staff found before. A home with false alarms on record gets a wider
    margin (its history under-states its silences); one often found away is told apart
    in its reason (an absence to register, not a threshold to raise)."""
    method = settings.method or thresholds.learn.method
    if method == "rhythm":
        from detectors.learning.rhythm import fit  # the methods build on this module
    elif method == "calibrated":
        from detectors.learning.calibrated import fit
    else:
        raise ValueError(f"unknown learn method {method!r}, expected one of {', '.join(LEARN_METHODS)}")
    records = records or {}
    if not len(history):
        return []
    n = registry.n_households
    household = registry.meter_household[history.meter]
    first, last = np.full(n, np.inf), np.full(n, -np.inf)
    np.minimum.at(first, household, history.ts)
    np.maximum.at(last, household, history.ts)
    ids = [str(h) for h in registry.household_ids]
    found = [records.get(i, OutcomeRecord()) for i in ids]
    ordered = history.sorted_by_meter_time()
    replayed = replay_history(registry, ordered, thresholds, left_on=True)
    act_h, act_t = replayed.act_h, replayed.act_t
    seen = History(act_h, act_t, first, last, thresholds.tz(),
                   np.array([r.false_alarms for r in found], dtype=float))
    # calibrated homes keep learning their routine online (the home's `adapt`, written beside
    # the windows, which otherwise turn it off): the budget is checked on held-out days of the
    # history, and a season later the home lives another routine (real hourly homes, fitted
    # Jan-Mar and replayed Apr-Dec: 5.65 -> 2.45 false alarms a home-month). rhythm's windows
    # are fitted to be soonest, and routines on top slow them (simulator seed 3: median
    # 3.51 -> 6.01 h): it writes `adapt: ~`.
    table, rows = resolve_settings(registry, thresholds)
    adapt_h = table.adapt_s[rows] / 3600.0 if method == "calibrated" else np.zeros(n)
    # what a learned deadline cannot undo: a power-meter-only home's floor (its own setting)
    floor_h = table.floor_s[rows] / 3600.0
    fitted = fit(seen, settings, settings.budget or thresholds.learn)
    burn_s, lamp_h = _lamp(registry, ordered, replayed, thresholds, settings, fitted, (last - first) / 86400.0,
                           seen.false_alarms)
    suggestions = []
    for home in fitted:
        away = found[home.household].away
        reason = home.reason + (f", found away {away} time(s): ask that absences be reported" if away else "")
        lamp = float(lamp_h[home.household])
        if np.isfinite(lamp):
            reason += f", a load left on through a silence up to {burn_s[home.household] / 3600:.1f} h: lamp rule {lamp:g} h"
        if floor_h[home.household]:
            reason += f", power meter only: alarms still wait {floor_h[home.household]:g} h (no_usage.electricity_only)"
        layer = Layer(no_usage_hours=home.hours, windows=windows(home.weights),
                      adapt_max_hours=float(adapt_h[home.household]),
                      left_on_hours=lamp if np.isfinite(lamp) else None)
        suggestions.append(Suggestion(ids[home.household], layer, reason))
    return suggestions


@dataclass(frozen=True)
class Replayed:
    """What one replay of a history through the detector's own state shows."""

    #: (household, time) of every activity, sorted: what learning calls a sign of life is what
    #: the detector will
    act_h: npt.NDArray[np.int32]
    act_t: npt.NDArray[np.float64]
    #: (meter, time, seconds) of every reading through which a load stayed left on, as the lamp
    #: rule reads it, and when each activity was known (the time of the reading that showed
    #: it; a switch-off is dated earlier): empty unless asked for
    left_on: tuple[npt.NDArray[np.int32], npt.NDArray[np.float64], npt.NDArray[np.float64]]
    act_read: npt.NDArray[np.float64]


def replay_history(registry: Registry, history: ReadingBatch, thresholds: Thresholds,
                   left_on: bool = False) -> Replayed:
    """One pass of ``history`` through a fresh detector: its activities, and with ``left_on``
    the readings that kept a load on (the lamp rule's runs, learned in the same pass)."""
    from detectors.detector import Detector  # the detector's state, not a second definition

    detector = Detector(registry, thresholds)
    detector.meters.record_left_on = left_on
    meters, times = detector.activity_in(history)
    read = detector.meters.last_activity_read if left_on else times
    household = registry.meter_household[meters]
    order = np.lexsort((read, times, household))
    act_h, act_t = household[order].astype(np.int32), times[order]
    keep = np.ones(len(act_h), dtype=bool)
    keep[1:] = (act_h[1:] != act_h[:-1]) | (act_t[1:] != act_t[:-1])
    return Replayed(act_h[keep], act_t[keep], detector.meters.last_left_on,
                    read[order][keep] if left_on else np.empty(0))


def activity(registry: Registry, history: ReadingBatch, thresholds: Thresholds
             ) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float64]]:
    """(household, time) of every activity in ``history``, sorted, by the detector's own
    activity model: what learning calls a sign of life is what the detector will."""
    replayed = replay_history(registry, history, thresholds)
    return replayed.act_h, replayed.act_t


def _lamp(registry: Registry, history: ReadingBatch, replayed: Replayed, thresholds: Thresholds,
          settings: LearnSettings, fitted: list[HomeFit], days: npt.NDArray[np.float64],
          false_alarms: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Per household: the longest a load burned through a silence of ``history`` (seconds) and
    the lamp rule's learned hours (NaN: keep the configured ones), for the ``fitted`` homes
    with at least ``settings.min_days`` of history."""
    from detectors.learning.lamp import learned_hours, longest_burn_s

    n = registry.n_households
    homes = np.array([home.household for home in fitted if days[home.household] >= settings.min_days], dtype=np.intp)
    # what the layers below the households say: an included learned file (households) must not
    # cap the next learning, or a lamp learned short once could never be learned longer again
    table, rows = resolve_settings(registry, replace(thresholds, households={}))
    configured_h = np.where(np.isfinite(table.left_on_s[rows]), table.left_on_s[rows] / 3600.0, 0.0)
    if not len(homes) or not (configured_h[homes] > 0).any():
        return np.full(n, np.nan), np.full(n, np.nan)
    burn = longest_burn_s(registry, history, replayed.act_h, replayed.act_t, replayed.act_read, replayed.left_on)
    hours = np.full(n, np.nan)
    # false alarms on record widen the margin, as they do the methods' own
    margin = settings.lamp_margin * outcome_scale(false_alarms[homes])
    hours[homes] = learned_hours(burn[homes], configured_h[homes], margin, settings.lamp_pad_h, settings.lamp_min_hours)
    return burn, hours


def windows(weights: npt.NDArray[np.float64]) -> tuple[Window, ...]:
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
        "# households: entries there win. Nothing changes until you do. What it writes holds over your",
        "# tiers, communities and grids: learn again after changing those.",
        "households:",
    ]
    for s in suggestions:
        parts = [f"hours: {s.layer.no_usage_hours:g}"]
        if s.layer.windows:
            ws = ", ".join(f'{{from: "{_hhmm(w.start_min)}", to: "{_hhmm(w.end_min)}", weight: {w.weight:g}}}'
                           for w in s.layer.windows)
            parts.append(f"windows: [{ws}]")
        if s.layer.adapt_max_hours is not None:
            parts.append(f"adapt: {{max_hours: {s.layer.adapt_max_hours:g}}}" if s.layer.adapt_max_hours else "adapt: ~")
        if s.layer.left_on_hours:
            parts.append(f"left_on: {{hours: {s.layer.left_on_hours:g}}}")
        extra = f", activity: {{electricity: {{min_change_w: {s.layer.min_change_w:g}}}}}" if s.layer.min_change_w else ""
        lines.append(f"  {s.household_id}: {{no_usage: {{{', '.join(parts)}}}{extra}}}  # {s.reason}")
    return "\n".join(lines) + "\n"


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
