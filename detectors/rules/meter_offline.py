"""meter_offline: a meter sent no readings for longer than its limit (and meter_stuck).

A maintenance job (gateway, meter, radio), never a welfare visit, and never
counted as silence: an offline meter confirms nothing. Judged against the
detector's clock, which never runs ahead of the newest reading from any meter by
more than the data-lag allowance, so a stopped ingest or a clock jump does not
turn the whole city offline. Meters never heard from are not judged (not yet
installed); a meter that appears later simply joins.
"""

from __future__ import annotations

import numpy as np

from detectors.rules.base import HouseholdView, Verdicts, last_per_utility
from lifesign.alerts import Rule, Severity


class MeterOfflineRule:
    slot = "meter_offline"
    rule = Rule.METER_OFFLINE
    severity = Severity.WARNING

    def evaluate(self, view: HouseholdView) -> Verdicts:
        limit = view.table.offline_s[view.m_row]
        due = view.m_last_ts + limit
        with np.errstate(invalid="ignore"):
            offline = due <= view.now  # NaN (never seen) compares False
            later = due > view.now
        next_check = view.min(due, later)
        return Verdicts(view.any(offline), view.min(view.m_last_ts, offline),
                        np.where(np.isnan(next_check), np.inf, next_check), culprits=offline)

    def evidence(self, view: HouseholdView, i: int, verdicts: Verdicts) -> dict[str, float]:
        evidence = {
            "offline_limit_s": float(view.table.offline_s[view.row[i]]),
            "offline_for_s": view.now - float(verdicts.start[i]),
        }
        evidence.update(last_per_utility(view, i, view.m_last_ts, "last_reading_"))
        return evidence

    def cleared(self, view: HouseholdView, i: int, start: float, utilities: tuple[str, ...]) -> dict[str, float]:
        return {"back_online": float(np.nanmax(view.m_last_ts[view.meters_of(i).start:view.meters_of(i).stop]))}


class MeterStuckRule:
    """meter_stuck: a meter repeated exactly the same interval usage past its stuck limit.

    A maintenance job, like meter_offline: filled gaps or a stuck pulse counter show
    neither life nor its absence, so such a meter also stops confirming silences."""

    slot = "meter_stuck"
    rule = Rule.METER_STUCK
    severity = Severity.WARNING

    def evaluate(self, view: HouseholdView) -> Verdicts:
        stuck_s = view.m_stuck_h * 3600.0
        stuck = stuck_s >= view.table.stuck_s[view.m_row]
        # the repetition began stuck_s before the meter's last reading; an open episode keeps
        # the start it opened with (stuck_h is coarse, so the estimate drifts by seconds)
        start = view.min(view.m_last_ts - stuck_s, stuck)
        open_start = view.open_start(self.slot)
        start = np.where(np.isnan(open_start), start, open_start)
        # only new data can start or end a repetition: no time-driven look needed
        return Verdicts(view.any(stuck), start, np.full(len(view), np.inf), culprits=stuck)

    def evidence(self, view: HouseholdView, i: int, verdicts: Verdicts) -> dict[str, float]:
        meters = [k for k in view.meters_of(i) if verdicts.culprits is not None and verdicts.culprits[k]]
        return {
            "stuck_limit_s": float(view.table.stuck_s[view.row[i]]),
            "repeated_for_s": max(float(view.m_stuck_h[k]) * 3600.0 for k in meters),
            "repeated_rate_per_h": max(float(view.m_rate[k]) for k in meters),
        }

    def cleared(self, view: HouseholdView, i: int, start: float, utilities: tuple[str, ...]) -> dict[str, float]:
        return {"varies_again": float(np.nanmax(view.m_last_ts[view.meters_of(i).start:view.meters_of(i).stop]))}
