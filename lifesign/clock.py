"""Event time for every stage.

Stages never call ``time.time()``: they ask a :class:`Clock`. The service uses
:class:`WallClock`; demos, replays and tests use :class:`ManualClock`, which the
simulator advances, so the same code runs at any acceleration.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Current event time, epoch seconds (UTC)."""
        ...


class WallClock:
    """Real time."""

    def now(self) -> float:
        return time.time()


class ManualClock:
    """Simulated time, moved forward explicitly (never backwards).

    >>> c = ManualClock(100.0)
    >>> c.advance_to(160.0); c.now()
    160.0
    >>> c.advance_to(150.0); c.now()  # moving back is ignored: event time is monotonic
    160.0
    """

    def __init__(self, start: float) -> None:
        self._now = float(start)
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def advance_to(self, t: float) -> None:
        with self._lock:
            if t > self._now:
                self._now = float(t)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += max(0.0, float(seconds))
