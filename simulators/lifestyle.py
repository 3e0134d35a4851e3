"""The parts of real life that make a routine irregular, each one switchable.

The plain routine (:class:`Lifestyle` with everything off, the demo's) is a tidy
day. Switched on, these add the variety real programmes see, and the usual causes
of false alarms:

* **weekends**: a lie-in of up to an hour (``weekend_late_h``), visitors twice as likely.
* **seasons**: winter mornings up to 15 min later, evening lights up to 45 min
  earlier, fewer showers; a space heater on winter evenings and air conditioning on
  summer afternoons in homes that have one (``climate_w``). Season is
  ``cos(2π (day of year - 15) / 365.25)``: +1 mid-January, -1 mid-July.
* **late_rising**: on ``late_rise_p`` of days the resident gets up 1.5-3 h late.
* **naps**: on ``nap_p`` of days an afternoon nap (from 13:00-14:30, 1-2.5 h; long
  sleepers' ``nap_scale`` makes it up to 5 h) with no water and no appliances (the
  fridge runs on).
* **baths**: ``baths_per_week`` evening baths of 80-140 L (water heater 2 kW for 30 min
  unless on gas), instead of that day's shower.
* **laundry**: ``laundry_per_week`` morning loads: three fills of 12-18 L over 40 min
  and a 400 W washing machine for an hour.
* **visitors**: on ``visitor_p`` of days (×2 at weekends) family comes 10:00-16:00:
  six more water events of 3-9 L (their own use, not scaled to the resident's
  litres), a second cooking session and the TV on.
* **fridge_cycles**: the cold appliances cycle (the fridge's ``fridge_on_w`` for
  ``fridge_duty`` of every ``fridge_period_min``; a freezer and a defrost heater where
  the home has them, :mod:`simulators.appliances`) on top of ``standby_w``, instead of
  a flat ``base_load_w``. Same daily energy; at 1-minute reporting the register steps
  show it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

BATH_L = (80.0, 140.0)
LAUNDRY_FILL_L = (12.0, 18.0)
WASHER_W = 400.0
VISITOR_EVENTS = 6
#: columns of the lifestyle draw block per home and day
LIFESTYLE_COLUMNS = 40


@dataclass(frozen=True)
class Lifestyle:
    weekends: bool = False
    seasons: bool = False
    late_rising: bool = False
    naps: bool = False
    baths: bool = False
    laundry: bool = False
    visitors: bool = False
    fridge_cycles: bool = False

    @classmethod
    def realistic(cls) -> Lifestyle:
        return cls(**{f.name: True for f in fields(cls)})

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    @property
    def any(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self))


def weekday(day: int) -> int:
    """Monday = 0 for a local day number (1970-01-01, day 0, was a Thursday)."""
    return (day + 3) % 7


def season(day: int) -> float:
    """+1 in mid-January, -1 in mid-July (northern hemisphere)."""
    doy = int((np.datetime64(day, "D") - np.datetime64(day, "D").astype("datetime64[Y]")).astype(int))
    return float(np.cos(2.0 * np.pi * (doy - 15) / 365.25))


__all__ = ["LIFESTYLE_COLUMNS", "Lifestyle", "season", "weekday"]
