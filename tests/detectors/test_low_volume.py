"""low_volume ("less than max_m3 of water in hours"), checked against a brute-force
evaluation of the fixed rule over every reading."""

from __future__ import annotations

import numpy as np
import pytest

from detectors.thresholds import Thresholds
from detectors.volume import LEVELS, VolumeWindow

MAX_M3 = 0.01


def readings(seed: int, n: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """One meter: irregular times, mostly nothing, sometimes a litre or a bath."""
    rng = np.random.default_rng(seed)
    ts = np.cumsum(rng.choice([60.0, 900.0, 3600.0], size=n))
    used = np.where(rng.random(n) < 0.7, 0.0, rng.choice([0.001, 0.002, 0.006, 0.08], size=n))
    return ts, used


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("batch", [1, 7, 400])
def test_the_window_never_starts_before_the_fixed_rule_would_and_batches_do_not_matter(seed: int, batch: int) -> None:
    ts, used = readings(seed)
    total = np.cumsum(used)
    window = VolumeWindow(1)
    quantum = np.full(len(ts), MAX_M3 / LEVELS)
    starts = []
    for lo in range(0, len(ts), batch):
        hi = min(lo + batch, len(ts))
        window.observe(np.zeros(hi - lo, dtype=np.int32), ts[lo:hi], used[lo:hi], quantum[lo:hi])
        starts.append(float(window.since(np.array([0]), quantum[:1])[0]))
    # the reference: after each batch, water used since the window's start (by the readings)
    # is under max_m3, so "start + hours <= now" implies the exact rule holds
    ends = [min(lo + batch, len(ts)) - 1 for lo in range(0, len(ts), batch)]
    for end, start in zip(ends, starts, strict=True):
        at = np.searchsorted(ts, start)
        since_start = total[end] - (total[at] if ts[at] == start else 0.0)
        assert since_start < MAX_M3 + 1e-12
        # the exact rule's window starts at the first reading after which less than max_m3 was
        # used; ours is at most a quantum of water (plus the step that crossed it) later
        first_low = np.flatnonzero(total[end] - total[: end + 1] < MAX_M3 - 1e-12)[0]
        if ts[at] == start:
            assert ts[at] >= ts[first_low]
            assert total[at] - total[first_low] <= MAX_M3 / LEVELS + used[at] + 1e-12
    # the same readings in one batch give the same final window
    whole = VolumeWindow(1)
    whole.observe(np.zeros(len(ts), dtype=np.int32), ts, used, quantum)
    assert whole.since(np.array([0]), quantum[:1])[0] == starts[-1]


def test_the_fixed_rule_is_written_in_thresholds_yaml_and_a_layer_can_switch_it_off() -> None:
    thresholds = Thresholds.parse("defaults: {low_volume: {water: {max_m3: 0.01, hours: 12}}}\n"
                                  "tiers: {green: {low_volume: {water: ~}}}\n")
    from lifesign.grid import Tier
    red = thresholds.resolve(Tier.RED, "C1", "G1", "H1")
    green = thresholds.resolve(Tier.GREEN, "C1", "G1", "H2")
    assert (red.volume_max_m3, red.volume_hours) == (0.01, 12.0)
    assert not green.volume_max_m3 and not green.volume_hours
