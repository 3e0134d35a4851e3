"""The duplicate filter: what ingest writes, and what it counts as duplicate, late or reset."""

from __future__ import annotations

import numpy as np

from ingest.seen import SeenReadings
from lifesign.readings import ReadingBatch

T0 = 1_763_700_000.0


def step(seen: SeenReadings, meters: list[int], times: list[float], values: list[float]) -> tuple[list[tuple[int, float]], int, int, list[int]]:
    sorted_ = seen.sort(ReadingBatch.of(meters, times, values))
    seen.commit(sorted_.new)
    new = list(zip(sorted_.new.meter.tolist(), sorted_.new.ts.tolist()))
    return new, sorted_.duplicates, sorted_.late, sorted_.resets.tolist()


def test_redelivery_and_repeats_in_one_message_are_duplicates() -> None:
    seen = SeenReadings(8)
    assert step(seen, [1, 2], [T0, T0], [1.0, 2.0]) == ([(1, T0), (2, T0)], 0, 0, [])
    assert step(seen, [1, 2], [T0, T0], [1.0, 2.0]) == ([], 2, 0, [])
    assert step(seen, [3, 3, 3], [T0, T0, T0 + 1], [1.0, 1.0, 1.1]) == ([(3, T0), (3, T0 + 1)], 1, 0, [])


def test_an_older_reading_is_late_when_new_and_duplicate_when_stored() -> None:
    seen = SeenReadings(4)
    step(seen, [0, 0], [T0, T0 + 1800], [1.0, 1.2])
    assert step(seen, [0], [T0 + 900], [1.1]) == ([(0, T0 + 900)], 0, 1, [])
    assert step(seen, [0, 0], [T0 + 900, T0], [1.1, 1.0]) == ([], 2, 0, [])


def test_a_held_back_reading_in_the_same_batch_as_a_newer_one_is_late() -> None:
    seen = SeenReadings(4)
    step(seen, [0], [T0], [1.0])
    # arrival order: the newer reading first, the held-back one after it
    assert step(seen, [0, 1, 0, 1], [T0 + 1800, T0, T0 + 900, T0 + 60], [1.2, 5.0, 1.1, 5.1]) == (
        [(0, T0 + 1800), (1, T0), (0, T0 + 900), (1, T0 + 60)], 0, 1, [])


def test_a_register_that_goes_backwards_is_flagged_but_a_late_lower_value_is_not() -> None:
    seen = SeenReadings(4)
    step(seen, [1], [T0], [500.0])
    # rollover in order: flagged; the next reading after it is normal again
    new, _, _, resets = step(seen, [1, 1], [T0 + 900, T0 + 1800], [0.5, 0.6])
    assert resets == [0] and new == [(1, T0 + 900), (1, T0 + 1800)]
    # a late reading between older ones is not compared with the newest value
    assert step(seen, [1], [T0 + 450], [0.1])[3] == []


def test_beyond_the_horizon_a_resend_is_counted_late_not_duplicate() -> None:
    seen = SeenReadings(2, horizon_s=3600)
    step(seen, [0], [T0], [1.0])
    step(seen, [0], [T0 + 7200], [1.5])
    n = 70_000  # enough to force the merge that trims the horizon
    seen.commit(ReadingBatch.of(np.ones(n), T0 + 7200 + np.arange(n), np.zeros(n)))
    new, duplicates, late, _ = step(seen, [0], [T0], [1.0])
    assert (new, duplicates, late) == ([(0, T0)], 0, 1)


def test_counts_match_a_set_model_over_random_resends_and_reorderings() -> None:
    rng = np.random.default_rng(11)
    seen = SeenReadings(50, horizon_s=10 * 86400)
    stored: set[tuple[int, float]] = set()
    newest: dict[int, float] = {}
    total_dup = total_late = 0
    model_dup = model_late = 0
    for _ in range(300):
        n = int(rng.integers(1, 40))
        meters = rng.integers(0, 50, n).tolist()
        times = (T0 + 900.0 * rng.integers(0, 200, n)).tolist()
        new, duplicates, late, _ = step(seen, meters, times, [1.0] * n)
        total_dup += duplicates
        total_late += late
        batch_new: list[tuple[int, float]] = []
        running = dict(newest)
        for key in zip(meters, times):
            if key in stored or key in batch_new:
                model_dup += 1
                continue
            batch_new.append(key)
            if key[1] <= running.get(key[0], -np.inf):
                model_late += 1
            running[key[0]] = max(running.get(key[0], -np.inf), key[1])
        assert sorted(new) == sorted(batch_new)
        stored.update(batch_new)
        for m, t in batch_new:
            newest[m] = max(newest.get(m, -np.inf), t)
    assert (total_dup, total_late) == (model_dup, model_late)
    assert total_dup > 100 and total_late > 100  # the workload exercised both paths


def test_interval_usage_meters_never_count_as_register_resets() -> None:
    seen = SeenReadings(2, interval=np.array([False, True]))
    step(seen, [0, 1], [T0, T0], [5.0, 0.4])
    _, _, _, resets = step(seen, [0, 1], [T0 + 900, T0 + 900], [4.0, 0.0])  # register 0 went back; 1 used less
    assert resets == [0]
