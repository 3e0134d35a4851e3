"""Incidents with ground truth: what happens to a home, a building or a meter, and when.

Kinds and what the meters show (the ``magnitude`` column says how much):

* ``incapacitated`` (household): all activity stops at ``start`` for good: no water,
  no gas, electricity only the fridge and standby. Meters keep reporting.
* ``fall_tap_running`` (household): as incapacitated, and a tap left running in the
  bathroom: water flows on at ``magnitude`` L/h (120-360) until the end of the run.
* ``illness`` (household): activity drops but does not stop: each water event and
  appliance use happens with probability ``magnitude`` (0.25-0.5) from ``start`` to ``end``.
* ``leak`` (household): a small continuous flow (a cistern or a dripping pipe) of
  ``magnitude`` L/h (2-30) from ``start`` to ``end``; the resident lives on as usual.
* ``water_cut`` (building): no home of the building gets water from ``start`` to ``end``.
* ``power_cut`` (building): no electricity in the building from ``start`` to ``end``;
  its electricity meters stop reporting, and with ``magnitude`` 1 the gateways serving
  the building go offline too (none of their meters report meanwhile).
* ``meter_offline`` (meter): the meter sends nothing from ``start`` to ``end`` (a flat
  battery, a broken radio link). An *outage* in the ground truth, not a welfare incident.

``end`` is ``inf`` for incidents that last past the end of the run (nobody came).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from simulators.cohort import Cohort

HOUSEHOLD_KINDS = ("incapacitated", "fall_tap_running", "illness", "leak")
BUILDING_KINDS = ("water_cut", "power_cut")
METER_KINDS = ("meter_offline",)
KINDS = HOUSEHOLD_KINDS + BUILDING_KINDS + METER_KINDS
#: incidents after which the resident does nothing any more
STOPPING_KINDS = ("incapacitated", "fall_tap_running")
HOUR, DAY = 3600.0, 86400.0


@dataclass(frozen=True)
class Incident:
    household_id: str
    kind: str
    start: float
    end: float = math.inf
    building: str = ""
    meter_id: str = ""
    magnitude: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"Incident.kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if not self.end > self.start:
            raise ValueError(f"Incident.end must be after its start, got start={self.start}, end={self.end}")
        if self.kind in HOUSEHOLD_KINDS and not self.household_id:
            raise ValueError(f"Incident.household_id must be given for a {self.kind} incident")
        if self.kind in BUILDING_KINDS and not self.building:
            raise ValueError(f"Incident.building must be given for a {self.kind} incident")
        if self.kind in METER_KINDS and not self.meter_id:
            raise ValueError(f"Incident.meter_id must be given for a {self.kind} incident")

    @property
    def category(self) -> str:
        return "outage" if self.kind in METER_KINDS else "incident"


def _default_magnitude(kind: str, u: float) -> float:
    return {
        "fall_tap_running": 120.0 + 240.0 * u,
        "illness": 0.25 + 0.25 * u,
        "leak": 2.0 + 28.0 * u,
        "power_cut": 1.0,
    }.get(kind, 0.0)


def _duration_s(kind: str, u: float) -> float:
    """How long an incident of this kind lasts when drawn (inf: until the run ends)."""
    return {
        "illness": (3.0 + 7.0 * u) * DAY,
        "leak": math.inf,
        "water_cut": (2.0 + 6.0 * u) * HOUR,
        "power_cut": (1.0 + 5.0 * u) * HOUR,
        "meter_offline": (6.0 + 42.0 * u) * HOUR,
    }.get(kind, math.inf)


def draw_incident(cohort: Cohort, kind: str, start: float, rng: np.random.Generator,
                  household: int | None = None) -> Incident:
    """One incident of ``kind`` at ``start`` in a random (or the given) household, its
    building or one of its meters, with the kind's usual duration and magnitude."""
    registry = cohort.registry
    h = int(rng.integers(registry.n_households)) if household is None else household
    u_mag, u_dur = float(rng.random()), float(rng.random())
    end = start + _duration_s(kind, u_dur)
    end = math.inf if math.isinf(end) else float(np.floor(end))
    if kind in BUILDING_KINDS:
        return Incident("", kind, start, end, building=str(registry.building[h]), magnitude=_default_magnitude(kind, u_mag))
    if kind in METER_KINDS:
        meters = registry.meters_of(h)
        meter = meters[int(rng.integers(len(meters)))]
        return Incident(str(registry.household_ids[h]), kind, start, end, building=str(registry.building[h]),
                        meter_id=str(registry.meter_ids[meter]))
    return Incident(str(registry.household_ids[h]), kind, start, end, building=str(registry.building[h]),
                    magnitude=_default_magnitude(kind, u_mag))


__all__ = ["BUILDING_KINDS", "HOUSEHOLD_KINDS", "KINDS", "METER_KINDS", "STOPPING_KINDS", "Incident", "draw_incident"]
