"""The maintenance grace: a meter fault must outlast a short wait before it is anyone's job.

A gateway that was cut off sends its backlog when it comes back; while that backlog
drains, the detector sees the gateway's meters hours behind and raises
``meter_offline`` for all of them, cleared again seconds later. So an OPENED
maintenance alert (meter_offline, meter_stuck; never a welfare rule) is held for
``grace_s`` on the dispatcher's clock (wall time in the service) from when dispatch
first saw it: one cleared within the grace is withdrawn (a line in the mute log, no
order), and the storm guard does not count it towards an infrastructure order. The
price: a real meter or gateway fault reaches maintenance ``grace_s`` later.

The grace is kept in the mute store like every held alert (``first_seen``), so it
survives restarts: a restarted dispatcher releases what is still open after it.
"""

from __future__ import annotations

from dataclasses import dataclass

from dispatch.defaults import MAINTENANCE_GRACE_S
from dispatch.mutes.records import TrackedAlert
from lifesign.alerts import Rule

#: the rules whose orders are maintenance jobs: a late welfare visit is never the price
MAINTENANCE_RULES = frozenset({Rule.METER_OFFLINE.value, Rule.METER_STUCK.value})


@dataclass(frozen=True)
class MaintenanceGrace:
    """
    >>> from lifesign.alerts import EpisodeKey
    >>> from dispatch.mutes.records import AlertFate
    >>> def seen(rule): return TrackedAlert(EpisodeKey("H1", rule, 0.0), "warning", (), "B", "G", "C", 0.0,
    ...                                      100.0, AlertFate.HELD)
    >>> grace = MaintenanceGrace(300.0)
    >>> grace.waiting(seen("meter_offline"), 399.0), grace.waiting(seen("meter_offline"), 400.0)
    (True, False)
    >>> grace.waiting(seen("no_usage"), 101.0), MaintenanceGrace(0.0).waiting(seen("meter_stuck"), 100.0)
    (False, False)
    """

    grace_s: float = MAINTENANCE_GRACE_S

    def __post_init__(self) -> None:
        if not self.grace_s >= 0:
            raise ValueError(f"maintenance_grace_s must be >= 0, got {self.grace_s!r}")

    def applies(self, alert: TrackedAlert) -> bool:
        return self.grace_s > 0 and alert.key.rule in MAINTENANCE_RULES

    def waiting(self, alert: TrackedAlert, now: float) -> bool:
        """Whether the alert is still within its grace: not an order, not a storm's member."""
        return self.applies(alert) and now < alert.first_seen + self.grace_s

    def describe(self) -> str:
        return f"maintenance grace: waiting {self.grace_s:g} s for the meter's readings (a gateway's backlog)"


__all__ = ["MAINTENANCE_RULES", "MaintenanceGrace"]
