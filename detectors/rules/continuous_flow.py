"""continuous_flow: water in every reporting interval for longer than the limit.

A tap left running, a fall in the shower, a leak. The run is tracked in the meter
state as readings arrive (an interval without water, or a gap in the data longer
than 30 minutes, ends it), so the verdict changes only with new data.
"""

from __future__ import annotations

import numpy as np

from detectors.rules.base import HouseholdView, Verdicts
from detectors.state import WATER
from lifesign.alerts import Rule, Severity


class ContinuousFlowRule:
    slot = "continuous_flow"
    rule = Rule.CONTINUOUS_FLOW
    severity = Severity.CRITICAL

    def evaluate(self, view: HouseholdView) -> Verdicts:
        flowing = (view.m_utility == WATER) & (view.m_flow_run >= view.table.flow_s[view.m_row])
        since = view.m_last_ts - view.m_flow_run
        return Verdicts(view.any(flowing), view.min(since, flowing), np.full(len(view), np.inf), culprits=flowing)

    def evidence(self, view: HouseholdView, i: int, verdicts: Verdicts) -> dict[str, float]:
        assert verdicts.culprits is not None
        k = next(k for k in view.meters_of(i) if verdicts.culprits[k])
        return {
            "flow_since": float(view.m_last_ts[k] - view.m_flow_run[k]),
            "flowing_for_s": float(view.m_flow_run[k]),
            "threshold_s": float(view.table.flow_s[view.row[i]]),
            "last_reading": float(view.m_last_ts[k]),
            "data_lag_s": view.now - float(view.m_last_ts[k]),
        }

    def cleared(self, view: HouseholdView, i: int, start: float, utilities: tuple[str, ...]) -> dict[str, float]:
        last = view.m_last_ts[view.meters_of(i).start:view.meters_of(i).stop]
        return {"flow_stopped": float(np.nanmax(last))}
