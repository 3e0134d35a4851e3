"""Dispatch's defaults and fixed names, written once: site.yaml's parser, the app
wiring, the stages, tests and benchmarks all take them from here."""

from __future__ import annotations

from types import MappingProxyType

from lifesign.grid import Tier
from lifesign.retry import Backoff

#: how long each tier's order may stay unacknowledged before it climbs one level
ACK_DEADLINE_MINUTES = MappingProxyType({Tier.RED: 15.0, Tier.YELLOW: 60.0, Tier.GREEN: 240.0})
#: a failed delivery's next attempts: 10 s, 20 s, 40 s ... at most 10 min apart
RETRY_BASE_S = 10.0
RETRY_MAX_S = 600.0
DELIVERY_RETRY = Backoff(base_s=RETRY_BASE_S, max_s=RETRY_MAX_S)
#: a claimed delivery is another dispatcher's to send again after this (its claimer died)
CLAIM_LEASE_S = 120.0

#: a maintenance alert (meter_offline, meter_stuck) becomes an order only if still open this
#: long after dispatch first saw it: a gateway's drained backlog clears its alerts sooner
MAINTENANCE_GRACE_S = 300.0

#: who closes an order whose household's usage resumed: a person, or dispatch on its own
CLOSE_BY_PERSON, CLOSE_AUTOMATICALLY = "person", "auto"
CLOSE_POLICIES = (CLOSE_BY_PERSON, CLOSE_AUTOMATICALLY)
CLOSE_ON_USAGE = MappingProxyType(
    {Tier.RED: CLOSE_BY_PERSON, Tier.YELLOW: CLOSE_BY_PERSON, Tier.GREEN: CLOSE_AUTOMATICALLY})

#: assignee of an order nobody in the roster covers: it stays visible in the store and the log
UNASSIGNED = "(unassigned)"


def ack_deadlines_s(minutes: dict[Tier, float] | None = None) -> dict[Tier, float]:
    """
    >>> ack_deadlines_s()[Tier.RED], ack_deadlines_s({Tier.RED: 1.5})
    (900.0, {<Tier.RED: 'red'>: 90.0})
    """
    return {tier: m * 60.0 for tier, m in (ACK_DEADLINE_MINUTES if minutes is None else minutes).items()}


__all__ = ["ACK_DEADLINE_MINUTES", "CLAIM_LEASE_S", "CLOSE_AUTOMATICALLY", "CLOSE_BY_PERSON",
           "CLOSE_ON_USAGE", "CLOSE_POLICIES", "DELIVERY_RETRY", "MAINTENANCE_GRACE_S", "RETRY_BASE_S",
           "RETRY_MAX_S", "UNASSIGNED", "ack_deadlines_s"]
