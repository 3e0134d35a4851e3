"""What happens to a block of homes beside their routine: absences and incidents, as time spans.

:class:`Effects` is what :meth:`simulators.routine.Routine.usage_matrix` applies on top
of the day plans; :mod:`simulators.scenario` builds it from absences and incidents.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from simulators.accrual import Windows

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Spans:
    """Time intervals of some homes of a block (``rows`` relative to it), with a value."""

    rows: npt.NDArray[np.int64]
    start: FloatArray
    end: FloatArray
    value: FloatArray

    def layers(self, m: int) -> list[tuple[FloatArray, FloatArray, FloatArray]]:
        """(start, end, value) per row, NaN where none; one layer per interval a row has."""
        out = []
        remaining = np.arange(len(self.rows))
        while len(remaining):
            _, first = np.unique(self.rows[remaining], return_index=True)
            take = remaining[first]
            a, b, v = np.full(m, np.nan), np.full(m, np.nan), np.full(m, np.nan)
            a[self.rows[take]], b[self.rows[take]], v[self.rows[take]] = self.start[take], self.end[take], self.value[take]
            out.append((a, b, v))
            remaining = np.setdiff1d(remaining, take)
        return out


@dataclass(frozen=True)
class Effects:
    """What happens to a block of homes beside their routine (absences, incidents)."""

    #: nobody acts at home in these intervals (absences; an incapacitated resident)
    away: tuple[Windows, ...] = ()
    #: illness: events kept with probability ``value``
    thin: Spans | None = None
    #: continuous water flows (a leak, a tap left running), ``value`` litres per hour
    water_flow: Spans | None = None
    #: supply cuts: no water / no electricity at all
    water_off: Spans | None = None
    power_off: Spans | None = None
    #: loads left on (a light, the TV, a heater), ``value`` watts, until ``end``
    power_on: Spans | None = None




def thinned(t: FloatArray, a: FloatArray, b: FloatArray, keep: FloatArray) -> npt.NDArray[np.bool_]:
    """Events inside [a, b) dropped with probability 1 - keep; the draw is a hash of the
    event time, so it is the same however the rounds are cut."""
    u = np.modf(np.abs(t) * 0.0161803398875)[0]
    return (t >= a[:, None]) & (t < b[:, None]) & (u >= keep[:, None])


__all__ = ["Effects", "Spans", "thinned"]
