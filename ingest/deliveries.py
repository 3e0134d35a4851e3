"""The messages ingest takes from the broker, and decoding a batch of them message by
message: one that cannot be decoded, or makes the decoder raise, costs only itself."""

from __future__ import annotations

import logging
from typing import NamedTuple

import numpy as np

from ingest.deadletters import UNKNOWN_GATEWAY
from ingest.decode import BatchBuilder, ReadingDecoder, excerpt
from ingest.rejections import Reason, Rejection, RejectionTally
from lifesign.readings import ReadingBatch
from lifesign.wire import READINGS_SUBSCRIPTION, gateway_of, readings_topic

log = logging.getLogger("ingest.subscriber")

#: (gateway, topic, refusals) of one refused message: what its dead-letter report says
Refused = tuple[str, str, RejectionTally]


class Delivery(NamedTuple):
    topic: str
    payload: bytes
    mid: int
    qos: int
    #: the connection it arrived on: a message id means nothing on another connection
    connection: int


def decode_messages(decoder: ReadingDecoder, taken: list[Delivery], builder: BatchBuilder, now: float
                    ) -> list[Refused]:
    """Decode message by message into ``builder``; returns the refused messages'
    tallies. A message that makes the decoder raise is refused alone (and then acked
    with the rest): retrying it would fail the same way forever."""
    refused: list[Refused] = []
    for delivery in taken:
        gateway = gateway_of(delivery.topic)
        if gateway is None:
            refused.append((UNKNOWN_GATEWAY, delivery.topic, _one(
                Reason.BAD_SHAPE,
                f"topic {delivery.topic[:128]!r} is not a readings topic (expected {READINGS_SUBSCRIPTION})",
                excerpt(delivery.payload, 128))))
            continue
        try:
            decoded = decoder.decode(delivery.payload, gateway, now, builder)
        except Exception as exc:  # noqa: BLE001  (a decoder bug, RecursionError, MemoryError...: not a loop)
            log.error("decoder failed on a message from gateway %s: %s", gateway[:64], type(exc).__name__)
            refused.append((gateway, delivery.topic, _one(Reason.BAD_SHAPE, f"decoder failed: {type(exc).__name__}",
                                                          excerpt(delivery.payload, 128))))
            continue
        if decoded.tally.counts:
            refused.append((gateway, delivery.topic, decoded.tally))
    return refused


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
