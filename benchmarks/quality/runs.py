"""Each rule set on a dataset, run as the service would, alarms as plain records, then scored.

Rule sets: the fixed rule (12 h and 24 h under 0.01 m³ of water), lifesign with the shipped
defaults, and lifesign with the overrides ``learn`` fits on the training part, by each of its
methods (``rhythm``, the default, and ``calibrated``).
"""

from __future__ import annotations

import time
from collections.abc import Collection
from dataclasses import dataclass, replace

import numpy as np

from quality.datasets import Dataset
from quality.fixed_rule import fixed_rule_alarms
from quality.project import (
    LEARN_METHODS,
    AlertState,
    Detector,
    LearnSettings,
    Rule,
    Severity,
    Thresholds,
    default_thresholds,
    learn,
    replay,
    water_meters,
    windows,
)
from quality.scoring import QualityScore, score

DAY = 86400.0
H = 3600.0
STEP_S = 900.0
FIXED_RULES = {"fixed 12 h < 0.01 m³": 12.0, "fixed 24 h < 0.01 m³": 24.0}
#: the fixed 12 h rule written in lifesign's thresholds.yaml (low_volume), replayed by the detector
FIXED_IN_YAML = "fixed 12 h as low_volume"
#: lifesign with the thresholds it ships with
DEFAULTS = "lifesign defaults"
#: `lifesign learn`'s methods, each a rule set of its own
LEARNED = {f"lifesign learned ({method})": method for method in LEARN_METHODS}
RULE_SETS = (*FIXED_RULES, FIXED_IN_YAML, DEFAULTS, *LEARNED)


@dataclass
class Outcome:
    """One rule set on one dataset: its score (None: the rule cannot run here) and seconds."""

    score: QualityScore | None
    seconds: float


def fixed_alarms(ds: Dataset, hours: float) -> list[tuple[str, float, str]] | None:
    """The fixed rule's alarms over the test period; None for homes without a water meter."""
    water = water_meters(ds.registry)
    if not water.any():
        return None
    # the rule looks back `hours`: give it that much before the test starts
    batch = ds.between(ds.test_start - hours * H - STEP_S, ds.test_end)
    batch = batch.take(np.flatnonzero(water[batch.meter]))
    household_of_meter = [str(h) for h in ds.registry.household_ids[ds.registry.meter_household]]
    return fixed_rule_alarms(batch.meter, batch.ts, batch.value, household_of_meter, hours=hours, step_s=STEP_S)


AlarmRecord = tuple[str, float, str] | tuple[str, float, str, float]


def lifesign_alarms(ds: Dataset, thresholds: Thresholds) -> list[AlarmRecord]:
    """Alarm records from a detector that has watched the homes since their data begins (a
    service that was running: its state holds what it learned of each home's routine), then
    replayed the test in 15-minute windows. Only the test period's alarms are scored."""
    detector = Detector(ds.registry, thresholds)
    detector.observe(ds.before(ds.test_start))
    records: list[AlarmRecord] = []
    #: an open welfare alarm's record, closed when its episode clears
    welfare: dict[tuple[str, float], int] = {}
    for alert in replay(detector, windows(ds.between(ds.test_start, ds.test_end), STEP_S)):
        welfare_rule = alert.rule == Rule.NO_USAGE.value and alert.severity is Severity.CRITICAL
        if welfare_rule and alert.state is AlertState.CLEARED:
            k = welfare.pop((alert.household_id, alert.key.episode_start), None)
            if k is not None:
                records[k] = (*records[k][:3], float(alert.at))
            continue
        if alert.state is not AlertState.OPENED or alert.at < ds.test_start:
            continue
        if welfare_rule:
            welfare[(alert.household_id, alert.key.episode_start)] = len(records)
            records.append((alert.household_id, float(alert.at), "no_usage", float("inf")))  # open until cleared
        elif alert.rule in (Rule.CONTINUOUS_FLOW.value, Rule.ABNORMAL_HIGH.value):
            records.append((alert.household_id, float(alert.at), str(alert.rule)))
        elif alert.rule == Rule.LOW_VOLUME.value:
            records.append((alert.household_id, float(alert.at), "low_volume"))
    return records


def fixed_in_yaml_alarms(ds: Dataset, defaults: Thresholds) -> list[tuple[str, float, str]] | None:
    """The city's rule as an operator writes it in thresholds.yaml; only its own alarms count."""
    if fixed_alarms(ds, 12.0) is None:
        return None
    layer = replace(defaults.defaults, volume_max_m3=0.01, volume_hours=12.0)
    alarms = lifesign_alarms(ds, replace(defaults, defaults=layer))
    return [(h, at, "no_usage") for h, at, kind, *_ in alarms if kind == "low_volume"]


def learned_thresholds(ds: Dataset, defaults: Thresholds, settings: LearnSettings | None = None) -> Thresholds:
    suggestions = learn(ds.registry, ds.before(ds.test_start), defaults, settings or LearnSettings())
    return defaults.with_households({s.household_id: s.layer for s in suggestions})


def score_alarms(ds: Dataset, alarms: list[AlarmRecord] | list[tuple[str, float, str]]) -> QualityScore:
    return score(alarms, households=ds.households, start=ds.test_start, end=ds.test_end,
                 incidents=ds.incidents, absences=ds.absences, explained=ds.explained, leaks=ds.leaks)


def run_dataset(ds: Dataset, settings: LearnSettings | None = None,
                methods: tuple[str, ...] = LEARN_METHODS,
                rule_sets: Collection[str] = RULE_SETS) -> dict[str, Outcome]:
    """Each of ``rule_sets`` (default: every rule set) on ``ds``, the learned ones by
    ``methods`` only; a rule set's seconds include learning where it learns. A caller that
    reads a few rule sets names them, so the others (each a full replay) are not run."""
    unknown = sorted(set(rule_sets) - set(RULE_SETS))
    if unknown:
        raise ValueError(f"unknown rule sets {unknown}; known: {list(RULE_SETS)}")
    outcomes: dict[str, Outcome] = {}
    for name, hours in FIXED_RULES.items():
        if name not in rule_sets:
            continue
        t = time.perf_counter()
        alarms = fixed_alarms(ds, hours)
        outcomes[name] = Outcome(None if alarms is None else score_alarms(ds, alarms), time.perf_counter() - t)
    defaults = default_thresholds(ds.timezone)
    if FIXED_IN_YAML in rule_sets:
        t = time.perf_counter()
        in_yaml = fixed_in_yaml_alarms(ds, defaults)
        outcomes[FIXED_IN_YAML] = Outcome(None if in_yaml is None else score_alarms(ds, in_yaml),
                                          time.perf_counter() - t)
    if DEFAULTS in rule_sets:
        t = time.perf_counter()
        outcomes[DEFAULTS] = Outcome(score_alarms(ds, lifesign_alarms(ds, defaults)), time.perf_counter() - t)
    for name, method in LEARNED.items():
        if method not in methods or name not in rule_sets:
            continue
        t = time.perf_counter()
        learned = learned_thresholds(ds, defaults, replace(settings or LearnSettings(), method=method))
        outcomes[name] = Outcome(score_alarms(ds, lifesign_alarms(ds, learned)), time.perf_counter() - t)
    return outcomes
