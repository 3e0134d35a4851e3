"""Dead letters: one bounded report per refused message, rate-limited per gateway.

A report goes to ``lifesign/v1/_rejected/{gateway}`` (see :func:`encode_report` for its
bounds). A gateway that sends garbage without pause gets a burst of reports and then
about one every ``1 / per_gateway_per_s`` seconds; every report it did not get is
counted (``dead_letters_suppressed``) and the next one it gets says how many were
withheld. The rejection counters always hold the full numbers.

Topics name gateways the registry knows; a message on any other gateway's topic is
reported under ``_unknown`` (its claimed id inside the report, cut short), so a
client inventing gateway ids can neither grow the rate limiter's table nor choose
the topics we publish to.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Container
from dataclasses import dataclass

from ingest.counters import IngestCounters
from ingest.rejections import RejectionTally, encode_report
from lifesign.wire import rejected_topic

log = logging.getLogger(__name__)

#: the dead-letter "gateway" of a message whose topic names no registered gateway
UNKNOWN_GATEWAY = "_unknown"

Publish = Callable[[str, bytes], None]


@dataclass(frozen=True)
class DeadLetterLimits:
    #: reports a gateway may get at once, then this many per second
    per_gateway_burst: int = 20
    per_gateway_per_s: float = 1.0
    #: the same for all gateways together: the broker and our send queue stay small
    total_burst: int = 200
    total_per_s: float = 50.0


class _Bucket:
    """A token bucket on the monotonic clock (wall seconds: this limits load, not event time)."""

    __slots__ = ("burst", "rate", "stamp", "tokens", "withheld")

    def __init__(self, burst: int, rate: float, now: float) -> None:
        self.burst, self.rate, self.tokens, self.stamp, self.withheld = float(burst), rate, float(burst), now, 0

    def take(self, now: float) -> bool:
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class DeadLetterOffice:
    """Counts every refusal and publishes the reports the rate limits allow.

    ``publish(topic, payload)`` must not raise for a broker that is away (paho queues);
    if it does, the report is dropped and logged: a dead letter never holds up an ack.
    """

    def __init__(self, publish: Publish, counters: IngestCounters, gateways: Container[str],
                 limits: DeadLetterLimits | None = None, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._publish = publish
        self._counters = counters
        self._gateways = gateways
        self.limits = limits or DeadLetterLimits()
        self._monotonic = monotonic
        self._buckets: dict[str, _Bucket] = {}
        start = monotonic()
        self._total = _Bucket(self.limits.total_burst, self.limits.total_per_s, start)

    def report(self, gateway: str, topic: str, tally: RejectionTally, at: float) -> None:
        """Count the refusals of one message and send its report, if the limits allow."""
        if not tally.counts:
            return
        self._counters.reject_many(tally.counts)
        known = gateway if gateway in self._gateways else UNKNOWN_GATEWAY
        now = self._monotonic()
        bucket = self._buckets.get(known)
        if bucket is None:
            bucket = self._buckets[known] = _Bucket(self.limits.per_gateway_burst, self.limits.per_gateway_per_s, now)
        # both must allow it; the shared bucket is asked last so one loud gateway's
        # refused reports never use up the others' share
        if not (bucket.take(now) and self._total.take(now)):
            bucket.withheld += 1
            self._counters.add(dead_letters_suppressed=1)
            return
        payload = encode_report(gateway, topic, tally, at, suppressed=bucket.withheld)
        bucket.withheld = 0
        try:
            self._publish(rejected_topic(known), payload)
        except Exception:  # a report is never worth an unacked message
            log.exception("could not publish a dead letter for gateway %s", known)
            return
        self._counters.add(dead_letters_sent=1)
