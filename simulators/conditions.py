"""Conditions of a home that are neither an incident nor a sign of life, with ground truth.

* ``running_toilet``: a cistern that never quite closes, or a dripping tap: a constant
  small flow of ``lph`` litres per hour (0.5-6). It runs for the whole run in half of
  the homes that have one, and for 2-20 days from a random time in the others. The
  resident lives on as usual; the meter keeps moving even after an incident, so water
  moving is no sign of life at that rate. A ``leak`` incident (2-30 L/h, from a
  moment on) stays a separate thing.

In the ground truth a condition is a row of category ``condition``, kind
``running_toilet``, with its ``start``/``end`` and its L/h as ``magnitude``.
:func:`draw_conditions` picks a share of the homes with its own stream: a home's
condition depends only on (seed, household), not on the cohort size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from simulators.cohort import Cohort

CONDITION_KINDS = ("running_toilet",)
RUNNING_TOILET_LPH = (0.5, 6.0)
DAY = 86400.0
_STREAM_CONDITIONS = 0x54494C54


@dataclass(frozen=True)
class Condition:
    household_id: str
    kind: str
    start: float
    end: float
    #: litres per hour
    lph: float

    def __post_init__(self) -> None:
        if self.kind not in CONDITION_KINDS:
            raise ValueError(f"Condition.kind must be one of {', '.join(CONDITION_KINDS)}, got {self.kind!r}")
        if not self.end > self.start:
            raise ValueError(f"Condition.end must be after its start, got start={self.start}, end={self.end}")
        if not self.lph > 0:
            raise ValueError(f"Condition.lph must be > 0, got {self.lph}")


def draw_conditions(cohort: Cohort, start: float, days: float, seed: int, *,
                    running_toilet_fraction: float = 0.05,
                    lph: tuple[float, float] = RUNNING_TOILET_LPH) -> tuple[Condition, ...]:
    """Running toilets in ``running_toilet_fraction`` of the homes, sorted by (start, household)."""
    if not 0.0 <= running_toilet_fraction <= 1.0:
        raise ValueError(f"draw_conditions: running_toilet_fraction must be within 0..1, got {running_toilet_fraction}")
    if not 0.0 < lph[0] <= lph[1]:
        raise ValueError(f"draw_conditions: lph must be [min, max] with 0 < min <= max, got {list(lph)}")
    n = cohort.n_households
    u = np.random.default_rng([seed, _STREAM_CONDITIONS]).random((n, 5))
    end = start + days * DAY
    out = []
    for i in np.flatnonzero(u[:, 0] < running_toilet_fraction).tolist():
        whole_run = u[i, 1] < 0.5
        a = start if whole_run else math.floor(start + u[i, 2] * days * DAY)
        b = math.inf if whole_run else float(math.floor(a + (2.0 + 18.0 * u[i, 3]) * DAY))
        b = b if b <= end else math.inf  # fixed after the run: it lasts past it
        flow = round(lph[0] + (lph[1] - lph[0]) * float(u[i, 4]), 2)
        out.append(Condition(str(cohort.registry.household_ids[i]), "running_toilet", float(a), b, flow))
    return tuple(sorted(out, key=lambda c: (c.start, c.household_id)))


__all__ = ["CONDITION_KINDS", "RUNNING_TOILET_LPH", "Condition", "draw_conditions"]
