from __future__ import annotations

import pytest

from lifesign.retry import Backoff


def test_the_wait_doubles_from_the_base_up_to_the_ceiling() -> None:
    backoff = Backoff(base_s=0.2, max_s=5.0)
    assert [backoff.delay(n) for n in range(1, 8)] == [0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0]


def test_a_long_outage_stays_at_the_ceiling_without_overflowing() -> None:
    assert Backoff(base_s=10.0, max_s=600.0).delay(100_000) == 600.0


def test_a_base_equal_to_the_ceiling_never_grows() -> None:
    assert {Backoff(base_s=30.0, max_s=30.0).delay(n) for n in range(1, 10)} == {30.0}


@pytest.mark.parametrize(("base_s", "max_s"), [(0.0, 1.0), (-1.0, 1.0), (2.0, 1.0)])
def test_a_backoff_that_could_not_wait_is_refused(base_s: float, max_s: float) -> None:
    with pytest.raises(ValueError, match=f"backoff base_s must be > 0 and <= max_s, got {base_s!r} and {max_s!r}"):
        Backoff(base_s=base_s, max_s=max_s)


def test_failures_count_from_one() -> None:
    with pytest.raises(ValueError, match="backoff failures counts from 1 .*, got 0"):
        Backoff(base_s=1.0, max_s=2.0).delay(0)
