"""The service's deadline loop: a job runs at the deadline it reports, on a poke, and
never spins on a deadline its run could not move."""

from __future__ import annotations

import math
import threading

from probes import eventually

from app.wakeup import DeadlineLoop
from lifesign.clock import ManualClock


def test_the_job_runs_at_its_deadline_not_at_the_safety_period() -> None:
    clock = ManualClock(1000.0)
    deadline = [1000.05]  # due 50 ms from now, while the safety period is an hour
    ran = threading.Event()

    def job() -> None:
        deadline[0] = math.inf  # nothing further is due
        ran.set()

    loop = DeadlineLoop("test", job, lambda: deadline[0], clock, max_wait_s=3600.0)
    loop.start()
    try:
        assert ran.wait(10), "the job did not run at its deadline"
        assert loop.runs == 1
        loop.poke()  # new data
        eventually(lambda: loop.runs == 2, "the poked run")
    finally:
        loop.stop()


def test_a_deadline_the_run_cannot_move_waits_for_the_next_poke_instead_of_spinning() -> None:
    clock = ManualClock(1000.0)
    loop = DeadlineLoop("test", lambda: None, lambda: 900.0, clock, max_wait_s=3600.0)  # always overdue
    assert loop.wait_s(None) == 0.0
    assert loop.wait_s(900.0) == 3600.0  # the last run left it where it was: wait for data or the period
    assert DeadlineLoop("t", lambda: None, lambda: math.inf, clock, 30.0).wait_s(None) == 30.0
    assert DeadlineLoop("t", lambda: None, lambda: 1010.0, clock, 30.0).wait_s(None) == 10.0


def test_a_failing_deadline_probe_falls_back_to_the_period() -> None:
    def broken() -> float:
        raise RuntimeError("store locked")

    assert DeadlineLoop("t", lambda: None, broken, ManualClock(0.0), 30.0).wait_s(None) == 30.0
