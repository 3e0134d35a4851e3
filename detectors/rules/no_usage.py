"""no_usage: the readings confirm a silence longer than the household's threshold.

Two slots share the rule name:

* the whole home (every live meter) silent past ``no_usage.hours``: CRITICAL, a welfare
  visit. Silence is weighted by local-time windows (night hours may count half). Sooner
  when a load has been left on through the silence for ``no_usage.left_on.hours``
  (real hours): a lamp or TV that someone switched on and nobody switched off, while
  nothing else in the home moves, is how a fall in the evening looks; sleep and outings
  switch the lights off (state.py keeps the quiet level and the run).
* one utility silent past its own, longer ``no_usage.utilities.<utility>.hours`` while
  the home is otherwise alive: a WARNING with ``utilities=("water",)``. A building
  water cut shows up as many of these in one building (dispatch's storm guard groups
  them); a whole home going silent raises the CRITICAL one instead.

Confirmed silence needs evidence: every live meter must have readings up to the
deadline (less ``max_data_lag_minutes``). A meter that stopped reporting does not
extend the silence; past its offline limit it no longer holds the home's
confirmation back and meter_offline takes it.
"""

from __future__ import annotations

import numpy as np

from detectors.rules.base import HouseholdView, Verdicts, last_per_utility
from lifesign.alerts import Rule, Severity
from lifesign.grid import UTILITY_BY_CODE


class NoUsageRule:
    slot = "no_usage"
    rule = Rule.NO_USAGE
    severity = Severity.CRITICAL

    def evaluate(self, view: HouseholdView) -> Verdicts:
        deadline = view.home_deadline
        flagged = view.home_silent
        with np.errstate(invalid="ignore"):
            later = ~flagged & (deadline > view.now)
        # the silence is about the meters that confirm it (an offline one confirms nothing)
        with np.errstate(invalid="ignore"):
            live = view.m_last_ts >= view.confirmed[view.owner]
        return Verdicts(flagged, view.anchor, np.where(later, deadline, np.inf), culprits=live)

    def evidence(self, view: HouseholdView, i: int, verdicts: Verdicts) -> dict[str, float]:
        anchor, confirmed, now = float(view.anchor[i]), float(view.confirmed[i]), view.now
        evidence = {
            "confirmed_silence_s": confirmed - anchor,
            "silence_so_far_s": now - anchor,
            "threshold_s": float(view.home_threshold_s[i]),
            "deadline": float(view.home_deadline[i]),
            "last_reading": confirmed,
            "data_lag_s": now - confirmed,
        }
        configured = float(view.table.home_s[view.row[i]])
        if evidence["threshold_s"] > configured:
            # the home's routine (or a power-meter-only floor) raised it: say so beside the configured one
            evidence["configured_threshold_s"] = configured
        floor = float(view.table.floor_s[view.row[i]])
        floored = bool(floor) and view.home_deadline[i] == view.anchor[i] + floor  # the floor set the deadline
        if floored:
            # the power meter alone watches this home: its floor, not the threshold, decided
            evidence["electricity_only_s"] = floor
        if view.left_on_deadline[i] < view.threshold_deadline[i] and not floored:
            # brought forward by a load nobody switched off: which, how long, how far above quiet
            k = min(view.meters_of(i), key=lambda j: np.nan_to_num(view.m_left_on_deadline[j], nan=np.inf))
            evidence["left_on_s"] = float(view.m_left_on_s[k])
            evidence["power_w"] = float(view.m_rate[k]) * 1000.0
            evidence["quiet_w"] = view.quiet_w(k)
            evidence["left_on_threshold_s"] = float(view.table.left_on_s[view.row[i]])
            evidence["threshold_deadline"] = float(view.threshold_deadline[i])
        evidence.update(last_per_utility(view, i, view.m_last_usage, "last_usage_"))
        return evidence

    def cleared(self, view: HouseholdView, i: int, start: float, utilities: tuple[str, ...]) -> dict[str, float]:
        anchor = float(view.anchor[i])
        # Dispatch records "usage resumed" only when activity really moved the anchor;
        # a raised threshold withdraws the alert without claiming a sign of life.
        return {"usage_resumed": anchor} if anchor > start else {"withdrawn": 1.0}


class UtilitySilenceRule:
    slot = "no_usage_utility"
    rule = Rule.NO_USAGE
    severity = Severity.WARNING

    def _meter_deadline(self, view: HouseholdView) -> tuple[np.ndarray, np.ndarray]:
        anchor = np.where(np.isnan(view.m_last_usage), view.first_seen[view.owner], view.m_last_usage)
        threshold = view.table.utility_s[view.m_row, view.m_utility]
        return anchor, view.table.deadline(view.m_row, anchor, threshold)

    def evaluate(self, view: HouseholdView) -> Verdicts:
        anchor, deadline = self._meter_deadline(view)
        with np.errstate(invalid="ignore"):
            silent = (view.now >= deadline) & (view.m_last_ts >= deadline - view.table.lag_s[view.m_row])
            later = np.isfinite(deadline) & (deadline > view.now)
        # "the others alive" needs another utility: in a home with one (a power meter alone, held
        # back by its floor) the whole-home alarm is the only one
        several = view.utility_count > 1
        silent &= several[view.owner]
        flagged = view.any(silent)
        start = view.min(anchor, silent)
        # The whole home silent is the critical episode: no new warning beside it.
        already = view.open_start(self.slot) == start
        flagged &= ~view.home_silent | already
        next_check = view.min(deadline, later)
        return Verdicts(flagged, start, np.where(np.isnan(next_check), np.inf, next_check), culprits=silent)

    def evidence(self, view: HouseholdView, i: int, verdicts: Verdicts) -> dict[str, float]:
        assert verdicts.culprits is not None
        meters = [k for k in view.meters_of(i) if verdicts.culprits[k]]
        start = float(verdicts.start[i])
        last = max(float(view.m_last_ts[k]) for k in meters)
        evidence = {
            "confirmed_silence_s": last - start,
            "silence_so_far_s": view.now - start,
            "threshold_s": float(min(view.table.utility_s[view.m_row[k], view.m_utility[k]] for k in meters)),
            "last_reading": last,
            "data_lag_s": view.now - last,
        }
        evidence.update(last_per_utility(view, i, view.m_last_usage, "last_usage_"))
        return evidence

    def cleared(self, view: HouseholdView, i: int, start: float, utilities: tuple[str, ...]) -> dict[str, float]:
        if bool(view.home_silent[i]):
            return {"withdrawn": 1.0, "superseded_by_critical": 1.0}
        resumed = [float(view.m_last_usage[k]) for k in view.meters_of(i)
                   if UTILITY_BY_CODE[int(view.m_utility[k])].value in utilities
                   and not np.isnan(view.m_last_usage[k]) and view.m_last_usage[k] > start]
        return {"usage_resumed": min(resumed)} if resumed else {"withdrawn": 1.0}
