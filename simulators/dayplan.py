"""One local day of events for a block of homes: what :class:`simulators.routine.Routine`
draws and :func:`simulators.usage.accrue_usage` turns into usage per round. Its own
module so the routine depends on the accrual and never the other way round."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class DayPlan:
    """All events of one local day for every household (rows), as epoch seconds."""

    day: int
    wake: FloatArray
    sleep: FloatArray
    #: (households, events): instant water events and their litres (0 = no event)
    water_t: FloatArray
    water_l: FloatArray
    #: (households, episodes): appliance episodes [start, end) and their draw
    episode_start: FloatArray
    episode_end: FloatArray
    episode_w: FloatArray
    episode_gas_lph: FloatArray


__all__ = ["DayPlan"]
