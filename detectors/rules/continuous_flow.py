"""continuous_flow: water running on, in every reporting interval, past one of two limits.

A tap left running, a fall in the shower, a leak. Two paths, because ordinary life
makes runs too: a resident busy in the kitchen and bathroom uses water in every
15-minute interval for two hours now and then (on the independent cohort of
``../shared/eval``, 0.8 runs of 2 h a home-month, 0.04 of 3 h, none of 4 h), but
unevenly: a litre, then 70, then 7. Water that runs on by itself does not vary:

* ``hours`` (3 by default): any flow in every interval this long: a leak, a running
  cistern, a tap left dribbling;
* ``strong`` (``above_lph: 80, hours: 1``): at least that many litres an hour in every
  interval this long: a tap or shower running on after a fall, found in an hour
  instead of three. Busy living rarely holds 20 L in every quarter hour for an hour
  (3 runs in 80 home-months of that cohort).

The runs are tracked in the meter state as readings arrive (an interval without water,
or below the strong rate for the strong path, or a gap in the data longer than 30
minutes, ends them), so the verdict changes only with new data. The episode starts
where water began to run in every interval, whichever path found it, and lasts until
that run ends (a dry interval), however slow the water runs meanwhile: one run is one
episode.
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

    def _flowing(self, view: HouseholdView) -> tuple[np.ndarray, np.ndarray]:
        """Per meter of the view: (past the any-flow limit, past the strong-flow limit)."""
        water = view.m_utility == WATER
        slow = water & (view.m_flow_run >= view.table.flow_s[view.m_row])
        strong = water & (view.m_strong_run >= view.table.strong_flow_s[view.m_row])
        return slow, strong

    def evaluate(self, view: HouseholdView) -> Verdicts:
        slow, strong = self._flowing(view)
        # a strong run lies inside its any-flow run: the run's start keys the episode either way
        since = view.m_last_ts - view.m_flow_run
        # an open episode lasts as long as its run: a tap that opened it by the strong path and
        # then runs slower is still running (it clears at a dry interval, as the slow path does)
        open_start = view.open_start(self.slot)[view.owner]
        with np.errstate(invalid="ignore"):
            same_run = (view.m_utility == WATER) & (view.m_flow_run > 0) & (np.abs(since - open_start) < 1.0)
        flowing = slow | strong | same_run
        return Verdicts(view.any(flowing), view.min(since, flowing), np.full(len(view), np.inf), culprits=flowing)

    def evidence(self, view: HouseholdView, i: int, verdicts: Verdicts) -> dict[str, float]:
        assert verdicts.culprits is not None
        k = next(k for k in view.meters_of(i) if verdicts.culprits[k])
        evidence = {
            "flow_since": float(view.m_last_ts[k] - view.m_flow_run[k]),
            "flowing_for_s": float(view.m_flow_run[k]),
            "threshold_s": float(view.table.flow_s[view.row[i]]),
            "last_reading": float(view.m_last_ts[k]),
            "data_lag_s": view.now - float(view.m_last_ts[k]),
        }
        if view.m_strong_run[k] >= view.table.strong_flow_s[view.row[i]]:
            # found by the strong path: how long and how fast, beside its own limit
            evidence["strong_for_s"] = float(view.m_strong_run[k])
            evidence["strong_threshold_s"] = float(view.table.strong_flow_s[view.row[i]])
            evidence["strong_above_lph"] = float(view.table.strong_flow_lph[view.row[i]])
            evidence["rate_lph"] = float(view.m_rate[k]) * 1000.0
        return evidence

    def cleared(self, view: HouseholdView, i: int, start: float, utilities: tuple[str, ...]) -> dict[str, float]:
        last = view.m_last_ts[view.meters_of(i).start:view.meters_of(i).stop]
        return {"flow_stopped": float(np.nanmax(last))}
