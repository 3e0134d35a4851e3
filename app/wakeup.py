"""Run a job at the next deadline it reports, when poked, or at least every ``max_wait_s``.

The service's sweep and escalation run on this instead of a fixed period: the
detector knows when the next household's threshold falls due and the dispatcher
when the next unacknowledged order must escalate, so the job runs then (an order
arrives one MQTT round trip after its threshold) and an idle city sleeps. New data
pokes the sweep. ``max_wait_s`` (site.yaml's ``schedule``) stays as a safety net for
what no deadline announces (a mute that ends, a held storm, a delivery retry).

Deadlines are event time from the :class:`~lifesign.clock.Clock`; the wait is that
difference in wall seconds, capped at ``max_wait_s``, so a manual clock (demo, tests)
still runs the job at least every ``max_wait_s``.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable

from lifesign.clock import Clock

log = logging.getLogger("lifesign.wakeup")


class DeadlineLoop:
    """One thread running ``job`` at ``next_deadline()``, on :meth:`poke`, or every ``max_wait_s``."""

    def __init__(self, name: str, job: Callable[[], object], next_deadline: Callable[[], float],
                 clock: Clock, max_wait_s: float) -> None:
        if max_wait_s <= 0:
            raise ValueError(f"max_wait_s must be > 0, got {max_wait_s!r}")
        self.name = name
        self._job = job
        self._next_deadline = next_deadline
        self._clock = clock
        self._max_wait_s = max_wait_s
        self._poked = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None
        #: how many times the job ran (tests read it; an idle loop must not spin)
        self.runs = 0

    def poke(self) -> None:
        """Run the job as soon as the running one (if any) is done."""
        self._poked.set()

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name=f"lifesign-{self.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping = True
        self._poked.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def wait_s(self, after_run_deadline: float | None) -> float:
        """How long to sleep now. A deadline the last run did not move is not woken for
        again (a rule that cannot decide before more data arrives must not spin the loop)."""
        deadline = self._safe_deadline()
        if after_run_deadline is not None and deadline <= after_run_deadline:
            return self._max_wait_s
        if math.isinf(deadline) or math.isnan(deadline):
            return self._max_wait_s
        return min(max(0.0, deadline - self._clock.now()), self._max_wait_s)

    def _safe_deadline(self) -> float:
        try:
            return float(self._next_deadline())
        except Exception:  # a failing probe must not stop the job: fall back to the period
            log.exception("%s: next deadline unknown, waking every %g s", self.name, self._max_wait_s)
            return math.inf

    def _loop(self) -> None:
        stale: float | None = None  # the deadline the last run left behind, if it was already due
        while not self._stopping:
            wait = self.wait_s(stale)
            if wait > 0:
                self._poked.wait(wait)
            self._poked.clear()
            if self._stopping:
                return
            try:
                self._job()
            except Exception:  # one bad run is logged; the next deadline still runs
                log.exception("%s failed", self.name)
            self.runs += 1
            after = self._safe_deadline()
            stale = after if after <= self._clock.now() else None
