"""The interface every detector rule implements.

A rule looks at the household state arrays and answers, for every household at
once, "is this household in an episode, and since when?". Deciding when to open
or clear an alert is the detector's job, not the rule's (scoring vs deciding).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from detectors.state import HouseholdState, MeterState


@dataclass(frozen=True)
class Findings:
    #: households in an episode now
    flagged: npt.NDArray[np.bool_]
    #: episode start per household (epoch s); only meaningful where flagged
    episode_start: npt.NDArray[np.float64]


class DetectorRule(Protocol):
    name: str

    def evaluate(self, meters: MeterState, households: HouseholdState, now: float) -> Findings: ...

    def evidence(self, meters: MeterState, households: HouseholdState, household: int) -> dict[str, float]: ...


__all__ = ["DetectorRule", "Findings", "np"]
