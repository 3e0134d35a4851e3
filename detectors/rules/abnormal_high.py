"""abnormal_high: a local day's water far above the home's own norm.

The norm is the mean of the meter's completed days (kept in the meter state);
the rule speaks only once three days are known. The episode is the local day: it
clears when the next day's readings start.
"""

from __future__ import annotations

import numpy as np

from detectors.rules.base import HouseholdView, Verdicts
from detectors.state import WATER
from detectors.timeweights import DAY_S, local_day, utc_offsets
from lifesign.alerts import Rule, Severity

MIN_NORM_DAYS = 3


class AbnormalHighRule:
    slot = "abnormal_high"
    rule = Rule.ABNORMAL_HIGH
    severity = Severity.WARNING

    def _limit(self, view: HouseholdView) -> np.ndarray:
        return np.maximum(view.table.high_factor[view.m_row] * view.m_norm, view.table.high_min_m3[view.m_row])

    def evaluate(self, view: HouseholdView) -> Verdicts:
        with np.errstate(invalid="ignore"):
            high = ((view.m_utility == WATER) & (view.m_norm_days >= MIN_NORM_DAYS)
                    & (view.m_day_usage >= self._limit(view)))
        ts = view.m_last_ts
        midnight = local_day(view.table.tz, ts) * DAY_S - utc_offsets(view.table.tz, ts)
        return Verdicts(view.any(high), view.min(midnight, high), np.full(len(view), np.inf), culprits=high)

    def evidence(self, view: HouseholdView, i: int, verdicts: Verdicts) -> dict[str, float]:
        assert verdicts.culprits is not None
        k = next(k for k in view.meters_of(i) if verdicts.culprits[k])
        return {
            "day_usage_m3": float(view.m_day_usage[k]),
            "norm_m3": float(view.m_norm[k]),
            "threshold_m3": float(self._limit(view)[k]),
            "last_reading": float(view.m_last_ts[k]),
        }

    def cleared(self, view: HouseholdView, i: int, start: float, utilities: tuple[str, ...]) -> dict[str, float]:
        return {"day_over": float(np.nanmax(view.m_last_ts[view.meters_of(i).start:view.meters_of(i).stop]))}
