"""Readings of homes that fall silent, published like a gateway on the real broker."""

from __future__ import annotations

import orjson
from probes import MqttProbe, eventually

from app.service import Service


def publish_silence(port: int, households: list[int], hours: float, end: float) -> int:
    """Each home's water stays flat and its power register creeps (a fridge): a silence of
    ``hours`` up to ``end``. Returns how many messages were published."""
    gateway = MqttProbe(port, "gateway-GW001")
    sent = 0
    try:
        steps = int(hours * 4)
        for i in range(steps + 1):
            ts = end - (steps - i) * 900
            meters = [m for h in households for m in (f"W{h:05d}", f"E{h:05d}")]
            values = [v for _ in households for v in (12.345, round(100 + i * 0.0125, 2))]
            gateway.publish("lifesign/v1/readings/GW001", orjson.dumps({"meters": meters, "ts": ts, "values": values}))
            sent += 1
    finally:
        gateway.close()
    return sent


def wait_ingested(service: Service, published: int) -> None:
    eventually(lambda: service.ingestor.counters.messages_acked >= published and service.wait_idle(0.5),
               f"ingest to take in {published} messages", timeout=60)
