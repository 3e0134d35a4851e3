"""The detection-quality benchmark's rule sets run one by one: a caller that names a few
(the quality tests do, to skip replays they never read) gets exactly the scores the full
run gives for those, and a misspelt name is refused rather than silently run as nothing."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from quality.runs import DEFAULTS, RULE_SETS, run_dataset
from quality.simulated import as_dataset, build


def test_chosen_rule_sets_score_as_in_the_full_run() -> None:
    ds = as_dataset(build(20, 4, 6, seed=4, incidents_per_1000=100), "seed 4")
    full = run_dataset(ds)
    assert list(full) == list(RULE_SETS)  # the default still runs every rule set, in table order
    chosen = ("fixed 12 h < 0.01 m³", DEFAULTS, "lifesign learned (rhythm)")  # what test_detect_quality reads
    some = run_dataset(ds, rule_sets=chosen)
    assert list(some) == list(chosen)
    for name in chosen:
        assert some[name].score is not None and some[name].score.incidents > 0
        assert some[name].score == full[name].score, name


def test_an_unknown_rule_set_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown rule sets"):
        run_dataset(as_dataset(build(5, 2, 2, seed=4), "seed 4"), rule_sets=("fixed 12 h",))
