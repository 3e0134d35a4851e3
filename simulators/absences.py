"""When residents are away from home: the most common cause of false alarms.

Assumptions of the model (local wall-clock time, daylight saving included):

* **overnight_stay** with family: leaves 15:00-19:00, back the next day 09:00-16:00.
  ``overnight_per_month`` per home; Fridays and Saturdays 1.75× as likely as other
  days (0.7×), which keeps the monthly rate.
* **trip**: leaves 08:00-11:00, away 2-10 days, back 10:00-17:00; ``trips_per_year``.
* **hospital** stay: leaves at any hour (an ambulance comes at night too), away 3-14
  days, back 10:00-17:00; ``hospital_per_year``.
* While away nobody uses water or appliances; the fridge and standby run on.
* Absences never overlap: a home draws a new one only once back. The draw starts two
  weeks before the scenario so that absences already under way at its start exist.
* Day ``d`` draws a (households × 8) block from ``(seed, stream, d)``: a home's
  absences depend only on (seed, household, day), not on the cohort size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lifesign.clock import DEFAULT_UTC_OFFSET_HOURS
from simulators.cohort import Cohort
from simulators.localtime import LocalClock, fixed_zone

ABSENCE_KINDS = ("overnight_stay", "trip", "hospital")
HOUR, DAY = 3600.0, 86400.0
_STREAM_ABSENCE = 0x41575941
_WARMUP_DAYS = 14


@dataclass(frozen=True)
class Absence:
    household_id: str
    kind: str
    start: float
    end: float

    def __post_init__(self) -> None:
        if self.kind not in ABSENCE_KINDS:
            raise ValueError(f"Absence.kind must be one of {', '.join(ABSENCE_KINDS)}, got {self.kind!r}")
        if not self.end > self.start:
            raise ValueError(f"Absence.end must be after its start, got start={self.start}, end={self.end}")


def draw_absences(
    cohort: Cohort,
    start: float,
    days: float,
    seed: int,
    *,
    kinds: tuple[str, ...] = ABSENCE_KINDS,
    rate_scale: float = 1.0,
    utc_offset_hours: float = DEFAULT_UTC_OFFSET_HOURS,
    timezone: str | None = None,
) -> tuple[Absence, ...]:
    """Every absence overlapping [start, start + days), sorted by (start, household).

    ``timezone`` (an IANA name) wins over a fixed ``utc_offset_hours``."""
    unknown = [k for k in kinds if k not in ABSENCE_KINDS]
    if unknown:
        raise ValueError(f"draw_absences: kinds must be among {', '.join(ABSENCE_KINDS)}, got {unknown[0]!r}")
    homes = cohort.homes
    n = cohort.n_households
    clock = LocalClock(timezone or fixed_zone(utc_offset_hours))
    end = start + days * DAY
    first = clock.local_day(start) - _WARMUP_DAYS
    last = clock.local_day(end)
    away_until = np.full(n, -np.inf)
    rows: list[np.ndarray] = []
    kind_codes: list[np.ndarray] = []
    starts: list[np.ndarray] = []
    ends: list[np.ndarray] = []
    on = {k: (k in kinds) * rate_scale for k in ABSENCE_KINDS}
    for day in range(max(first, 0), last + 1):
        midnight = clock.midnight(day)
        u = np.random.default_rng([seed, _STREAM_ABSENCE, day]).random((n, 8))
        friday_saturday = (day + 3) % 7 in (4, 5)
        hospital = u[:, 0] < homes.hospital_per_year / 365.0 * on["hospital"]
        trip = u[:, 1] < homes.trips_per_year / 365.0 * on["trip"]
        overnight = u[:, 2] < homes.overnight_per_month / 30.0 * (1.75 if friday_saturday else 0.7) * on["overnight_stay"]
        leave = np.select(
            [hospital, trip, overnight],
            [midnight + 24.0 * HOUR * u[:, 3], midnight + (8.0 + 3.0 * u[:, 3]) * HOUR, midnight + (15.0 + 4.0 * u[:, 3]) * HOUR],
            np.nan,
        )
        nights = np.select([hospital, trip, overnight], [np.floor(3.0 + 12.0 * u[:, 4]), np.floor(2.0 + 9.0 * u[:, 4]), 1.0], 0.0)
        back_h = np.where(overnight & ~hospital & ~trip, 9.0 + 7.0 * u[:, 5], 10.0 + 7.0 * u[:, 5])
        back = midnight + nights * DAY + back_h * HOUR
        leave, back = clock.real(day, leave), clock.real(day, back, span_days=16)  # planned on the wall clock
        chosen = ~np.isnan(leave) & (leave > away_until) & (back > leave)
        idx = np.flatnonzero(chosen)
        if len(idx):
            code = np.select([hospital[idx], trip[idx]], [2, 1], 0)
            rows.append(idx)
            kind_codes.append(code)
            starts.append(leave[idx])
            ends.append(back[idx])
            away_until[idx] = back[idx]
    if not rows:
        return ()
    r, c, s, e = (np.concatenate(x) for x in (rows, kind_codes, starts, ends))
    keep = (e > start) & (s < end)
    order = np.lexsort((r[keep], s[keep]))
    ids = cohort.registry.household_ids
    return tuple(
        Absence(str(ids[i]), ABSENCE_KINDS[k], float(np.floor(a)), float(np.floor(b)))
        for i, k, a, b in zip(r[keep][order], c[keep][order], s[keep][order], e[keep][order])
    )


__all__ = ["ABSENCE_KINDS", "Absence", "draw_absences"]
