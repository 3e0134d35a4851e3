"""A small seeded version of benchmarks/detect_quality.py: learned thresholds catch every
incapacitation, sooner than the defaults and the fixed rule, with few false alarms."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from detect_quality import build, run_rules


def test_learned_thresholds_catch_everything_sooner_and_stay_quiet() -> None:
    results = {name: score for name, (score, _) in run_rules(build(150, 20, 30, seed=11, incidents_per_1000=100)).items()}
    fixed, defaults, learned = results["fixed 12 h / 0.01 m³"], results["lifesign defaults"], results["lifesign learned"]
    assert learned.incidents >= 15
    assert learned.recall == 1.0, learned.missed
    assert defaults.recall == 1.0, defaults.missed
    assert learned.median_delay_h < defaults.median_delay_h
    assert learned.median_delay_h < fixed.median_delay_h
    assert learned.false_alarms_per_household_month <= 0.5
    assert fixed.false_alarms_per_household_month > learned.false_alarms_per_household_month
    # every absence alarm is accounted for, not silently dropped
    assert sum(learned.explained.values()) > 0
