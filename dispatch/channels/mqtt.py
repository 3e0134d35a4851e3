"""Publish tickets to each worker's own MQTT topic (their phone app subscribes to it).

QoS 1 and a wait for the broker's PUBACK: the delivery counts only once the broker
has it. A phone with a persistent session gets it from the broker when it comes back.
If the wait times out, paho may still send the message later, so a retry can deliver
a ticket twice; the payload carries order_id and escalation_level to spot that.
"""

from __future__ import annotations

from typing import Any

import orjson
import paho.mqtt.client as mqtt

from dispatch.channels.base import DeliveryError
from lifesign.grid import Worker
from lifesign.wire import workorders_topic


class MqttChannel:
    name = "mqtt"

    def __init__(self, client: mqtt.Client, timeout_s: float = 5.0, qos: int = 1) -> None:
        """``client`` is connected and has its network loop running (``loop_start``)."""
        if qos not in (1, 2):
            raise ValueError(
                f"qos must be 1 or 2 (a delivery needs the broker's confirmation), got {qos!r}"
            )
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be > 0, got {timeout_s!r}")
        self._client = client
        self._timeout_s = timeout_s
        self._qos = qos

    def deliver(self, recipient: Worker, ticket_payload: dict[str, Any]) -> None:
        def fail(problem: str) -> DeliveryError:
            return DeliveryError(self.name, recipient.worker_id, problem, recoverable=True)

        if not self._client.is_connected():
            raise fail("the MQTT client is not connected to the broker")
        topic = workorders_topic(recipient.worker_id)
        try:
            info = self._client.publish(topic, orjson.dumps(ticket_payload), qos=self._qos)
        except (TypeError, orjson.JSONEncodeError) as exc:
            raise DeliveryError(
                self.name, recipient.worker_id, f"the ticket is not JSON-able ({exc})", False
            ) from exc
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise fail(f"publish to {topic} failed: {mqtt.error_string(info.rc)}")
        try:
            info.wait_for_publish(self._timeout_s)
        except (RuntimeError, ValueError) as exc:
            raise fail(f"publish to {topic} failed: {exc}") from exc
        if not info.is_published():
            raise fail(f"the broker did not confirm {topic} within {self._timeout_s:g} s")
