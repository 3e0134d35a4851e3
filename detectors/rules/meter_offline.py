"""meter_offline: a meter sent no readings for longer than its limit.

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
