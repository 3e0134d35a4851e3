"""benchmarks/detect_quality.py in the suite: a small seeded cohort (learned thresholds catch
every incapacitation, sooner than the defaults and the fixed rule, with few false alarms),
and five held-out seeds (300 homes x 60 days after 60 training days each), held to the
targets: 100% recall, median delay <= 3.5 h (tolerance below), <= 0.5 false alarms per
home-month.
Scored by the benchmark's own scorer (quality.scoring), not the detector's."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from quality.runs import DEFAULTS, run_dataset
from quality.simulated import as_dataset, build

FIXED = "fixed 12 h < 0.01 m³"
#: the targets hold for the default learn method (the calibrated one trades delay for fewer
#: false alarms on real homes: README, learned thresholds)
LEARNED = "lifesign learned (rhythm)"


def test_learned_thresholds_catch_everything_sooner_and_stay_quiet() -> None:
    cohorts = build(150, 20, 30, seed=11, incidents_per_1000=100)
    # only the rule sets compared here are run (each one more is a full replay of the cohort)
    results = {name: o.score for name, o in run_dataset(as_dataset(cohorts, "seed 11"),
                                                           rule_sets=(FIXED, DEFAULTS, LEARNED)).items()}
    fixed, defaults, learned = results[FIXED], results[DEFAULTS], results[LEARNED]
    assert fixed is not None and defaults is not None and learned is not None
    assert learned.incidents >= 15
    assert learned.recall == 1.0, learned.missed
    assert defaults.recall == 1.0, defaults.missed
    assert learned.median_delay_h < defaults.median_delay_h
    assert learned.median_delay_h < fixed.median_delay_h
    assert learned.false_alarms_per_home_month <= 0.5
    assert fixed.false_alarms_per_home_month > learned.false_alarms_per_home_month
    # every absence alarm is accounted for, not silently dropped
    assert learned.absences_alarmed + sum(learned.explained.values()) > 0


HELD_OUT = (11, 12, 13, 14, 15)


@pytest.mark.parametrize("seed", HELD_OUT)
def test_held_out_seeds_meet_the_simulator_targets(seed: int) -> None:
    # Seeds no setting was tuned on (the defaults and learn's settings were set on seeds 1-10
    # and the eval data's training days). Goal: 100% recall, median delay <= 3.5 h, <= 0.5
    # false alarms per home-month on every seed (300 homes, 15 incidents: one incident moves
    # the median ~10 min). Measured 2026-12-02: 2.53-3.27 h (seeds 16-23 too: 2.29-3.32 h).
    # Until learn fitted each home's lamp rule the test allowed one seed up to 4.0 h (seed 13
    # stood at 3.94 h); it needs that tolerance no more.
    results = {name: o.score for name, o in run_dataset(as_dataset(build(300, 60, 60, seed=seed), f"seed {seed}"),
                                                           rule_sets=(FIXED, LEARNED)).items()}
    fixed, learned = results[FIXED], results[LEARNED]
    assert fixed is not None and learned is not None
    assert learned.incidents >= 15
    assert learned.recall == 1.0, learned.missed
    assert learned.median_delay_h <= 3.5
    assert learned.false_alarms_per_home_month <= 0.5
    assert learned.leaks_caught == learned.leaks
    # side by side with today's fixed rule: slower and noisier
    assert fixed.median_delay_h > 2 * learned.median_delay_h
    assert fixed.false_alarms_per_home_month > 5 * learned.false_alarms_per_home_month
