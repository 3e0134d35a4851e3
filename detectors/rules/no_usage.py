"""no_usage: the readings confirm a silence longer than the household's threshold.

Confirmed silence = the time up to which every reporting meter has readings,
minus the household's last activity. It needs evidence: a meter that stopped
reporting does not extend the silence (that is a meter/gateway fault, another
rule with another assignee), so the sweep time ``now`` is deliberately unused.
"""

from __future__ import annotations

import numpy as np

from detectors.rules.base import Findings
from detectors.state import HouseholdState, MeterState
from lifesign.alerts import Rule
from lifesign.grid import UTILITY_BY_CODE


class NoUsageRule:
    name = Rule.NO_USAGE.value

    def __init__(self, meter_utility: np.ndarray) -> None:
        self.meter_utility = meter_utility

    def evaluate(self, meters: MeterState, households: HouseholdState, now: float) -> Findings:
        with np.errstate(invalid="ignore"):
            flagged = households.confirmed_until > households.deadline  # NaN compares False
        return Findings(flagged=flagged, episode_start=households.anchor)

    def evidence(self, meters: MeterState, households: HouseholdState, household: int) -> dict[str, float]:
        evidence = {
            "confirmed_silence_s": float(households.confirmed_until[household] - households.anchor[household]),
            "threshold_s": float(households.threshold_s[household]),
            "last_reading": float(households.confirmed_until[household]),
        }
        start, end = households.seg_start[household], households.seg_end[household]
        for meter in households.order[start:end]:
            utility = UTILITY_BY_CODE[int(self.meter_utility[meter])].value
            usage = meters.last_usage_ts[meter]
            if not np.isnan(usage):
                key = f"last_usage_{utility}"
                evidence[key] = max(evidence.get(key, float("-inf")), float(usage))
        return evidence
