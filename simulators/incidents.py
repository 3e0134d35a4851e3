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

**Loads left on.** After a stopping incident a load may stay on until the end of the
run (``left_on`` and ``left_on_w``, in the ground truth): a ``light`` (40-100 W), the
``tv`` (100-150 W) or, in winter months, a ``heater`` (500-1500 W).
:func:`leave_loads_on` draws them, from a stream of its own, for a share ``p`` of
the stopping incidents: in winter (season above 0.3) light 40 %, TV 30 %, heater 30 %;
otherwise light 60 %, TV 40 %.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from lifesign.clock import DEFAULT_TIMEZONE
from simulators.cohort import Cohort
from simulators.lifestyle import season
from simulators.localtime import LocalClock

HOUSEHOLD_KINDS = ("incapacitated", "fall_tap_running", "illness", "leak")
BUILDING_KINDS = ("water_cut", "power_cut")
METER_KINDS = ("meter_offline",)
KINDS = HOUSEHOLD_KINDS + BUILDING_KINDS + METER_KINDS
#: incidents after which the resident does nothing any more
STOPPING_KINDS = ("incapacitated", "fall_tap_running")
#: loads that can stay on after a stopping incident, and their watts
LEFT_ON_LOADS = {"light": (40.0, 100.0), "tv": (100.0, 150.0), "heater": (500.0, 1500.0)}
HOUR, DAY = 3600.0, 86400.0
_STREAM_LEFT_ON = 0x4C454654


@dataclass(frozen=True)
class Incident:
    household_id: str
    kind: str
    start: float
    end: float = math.inf
    building: str = ""
    meter_id: str = ""
    magnitude: float = 0.0
    #: a load left on from ``start`` to the end of the run ("" none | light | tv | heater), and its watts
    left_on: str = ""
    left_on_w: float = 0.0

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
        if self.left_on and (self.left_on not in LEFT_ON_LOADS or self.kind not in STOPPING_KINDS or not self.left_on_w > 0):
            raise ValueError(f"Incident.left_on must be one of {', '.join(LEFT_ON_LOADS)} with left_on_w > 0, on a "
                             f"{' or '.join(STOPPING_KINDS)} incident, got {self.left_on!r} ({self.left_on_w} W) "
                             f"on {self.kind}")
        if self.left_on_w and not self.left_on:
            raise ValueError(f"Incident.left_on_w needs left_on (what was left on), got {self.left_on_w} W")

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


def leave_loads_on(incidents: tuple[Incident, ...], p: float, seed: int,
                   timezone: str = DEFAULT_TIMEZONE) -> tuple[Incident, ...]:
    """The incidents, a share ``p`` of the stopping ones with a load left on (the others as given).

    Each incident draws three uniforms from ``(seed, stream, its position)``: whether, which
    load and its watts, so one incident's load never depends on the others'.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"leave_loads_on: p must be within 0..1, got {p}")
    clock = LocalClock(timezone)
    out = []
    for k, incident in enumerate(incidents):
        u = np.random.default_rng([seed, _STREAM_LEFT_ON, k]).random(3)
        if incident.kind not in STOPPING_KINDS or incident.left_on or not u[0] < p:
            out.append(incident)
            continue
        winter = season(clock.local_day(incident.start)) > 0.3
        shares = (0.4, 0.3, 0.3) if winter else (0.6, 0.4, 0.0)
        load = tuple(LEFT_ON_LOADS)[min(int(np.searchsorted(np.cumsum(shares), u[1], side="right")), 2)]
        lo, hi = LEFT_ON_LOADS[load]
        out.append(replace(incident, left_on=load, left_on_w=float(round(lo + (hi - lo) * u[2]))))
    return tuple(out)


__all__ = ["BUILDING_KINDS", "HOUSEHOLD_KINDS", "KINDS", "LEFT_ON_LOADS", "METER_KINDS", "STOPPING_KINDS", "Incident",
           "draw_incident", "leave_loads_on"]
