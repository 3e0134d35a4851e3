"""Exponential backoff, the one rule for "try again later" in every stage.

Ingest waits between attempts to store a batch and between probes of a store that
is down; dispatch schedules a failed delivery's next attempt. All three double the
wait after each consecutive failure, up to a ceiling.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """The wait after the ``failures``-th consecutive failure: ``base_s`` after the first,
    doubling each time, never more than ``max_s``.

    >>> b = Backoff(base_s=10.0, max_s=600.0)
    >>> [b.delay(n) for n in (1, 2, 3, 7, 8, 60)]
    [10.0, 20.0, 40.0, 600.0, 600.0, 600.0]
    """

    base_s: float
    max_s: float

    def __post_init__(self) -> None:
        if not 0 < self.base_s <= self.max_s:
            raise ValueError(
                f"backoff base_s must be > 0 and <= max_s, got {self.base_s!r} and {self.max_s!r}"
            )

    def delay(self, failures: int) -> float:
        if failures < 1:
            raise ValueError(f"backoff failures counts from 1 (the first failure), got {failures!r}")
        # past ~1000 doublings 2.0**n overflows; any n whose wait passed max_s gives max_s
        doublings = min(failures - 1, 1023)
        return min(self.base_s * 2.0**doublings, self.max_s)


__all__ = ["Backoff"]
