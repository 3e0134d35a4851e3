"""The messages ingest takes from the broker, and decoding a batch of them: the small
ones that pass whole in one pass (:mod:`ingest.fastpath`), every other message alone,
so one that cannot be decoded, or makes the decoder raise, costs only itself."""

from __future__ import annotations

import logging

import numpy as np

from ingest.deadletters import UNKNOWN_GATEWAY
from ingest.decode import ReadingDecoder, excerpt
from ingest.fastpath import FastPass
from ingest.rejections import Reason, Rejection, RejectionTally
from lifesign.readings import ReadingBatch
from lifesign.wire import READINGS_SUBSCRIPTION, gateway_of, readings_topic

log = logging.getLogger("ingest.subscriber")

#: (gateway, topic, refusals) of one refused message: what its dead-letter report says
Refused = tuple[str, str, RejectionTally]


def decode_messages(fast: FastPass, topics: list[str], payloads: list[bytes | bytearray], now: float
                    ) -> tuple[ReadingBatch, list[Refused]]:
    """The good readings of every message (its topic and payload), in arrival order, and the
    refused messages' tallies. Small messages that pass whole go through ``fast`` together;
    the decoder takes each other message alone. A message that makes the decoder raise is
    refused alone (and then acked with the rest): retrying it would fail the same way forever."""
    try:
        readings, owner, passed = fast.split(topics, payloads, now)
    except Exception:  # a bug here must not hold the batch back forever: the decoder takes each message
        log.exception("the fast pass failed on a batch of %d messages; decoding them one by one", len(topics))
        readings, owner, passed = ReadingBatch.empty(), np.empty(0, dtype=np.intp), np.zeros(len(topics), dtype=bool)
    if passed.all():
        return readings, []
    refused: list[Refused] = []
    parts, owners = [readings], [owner]
    for j in np.flatnonzero(~passed).tolist():
        decoded = _decode_one(fast.decoder, topics[j], payloads[j], now, refused)
        if len(decoded):
            parts.append(decoded)
            owners.append(np.full(len(decoded), j, dtype=np.intp))
    order = np.argsort(np.concatenate(owners), kind="stable")  # back into arrival order
    return ReadingBatch.concat(parts).take(order), refused


def _decode_one(decoder: ReadingDecoder, topic: str, payload: bytes | bytearray, now: float,
                refused: list[Refused]) -> ReadingBatch:
    """One message through the decoder; its refusals, if any, go to ``refused``."""
    payload = bytes(payload)  # paho's type allows a bytearray; the decoder reads bytes
    gateway = gateway_of(topic)
    if gateway is None:
        refused.append((UNKNOWN_GATEWAY, topic, _one(
            Reason.BAD_SHAPE,
            f"topic {topic[:128]!r} is not a readings topic (expected {READINGS_SUBSCRIPTION})",
            excerpt(payload, 128))))
        return ReadingBatch.empty()
    try:
        decoded = decoder.decode(payload, gateway, now)
    except Exception as exc:  # noqa: BLE001  (a decoder bug, RecursionError, MemoryError...: not a loop)
        log.error("decoder failed on a message from gateway %s: %s", gateway[:64], type(exc).__name__)
        refused.append((gateway, topic, _one(Reason.BAD_SHAPE, f"decoder failed: {type(exc).__name__}",
                                             excerpt(payload, 128))))
        return ReadingBatch.empty()
    if decoded.tally.counts:
        refused.append((gateway, topic, decoded.tally))
    return decoded.batch


def too_fast_reports(decoder: ReadingDecoder, readings: ReadingBatch, rate_per_s: np.ndarray) -> list[Refused]:
    """Readings refused against their meter's previous one: one report per gateway."""
    by_gateway: dict[str, RejectionTally] = {}
    for gateway, rejection in decoder.too_fast(readings, rate_per_s):
        by_gateway.setdefault(gateway, RejectionTally()).add(rejection)
    return [(gateway, readings_topic(gateway), tally) for gateway, tally in by_gateway.items()]


def _one(reason: str, detail: str, item: object) -> RejectionTally:
    tally = RejectionTally()
    tally.add(Rejection(reason, detail, item))
    return tally
