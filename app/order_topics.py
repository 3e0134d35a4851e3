"""Each open work order as one retained MQTT message on its holder's order topic, updated on
every state change, so a phone that was offline gets its open orders when it reconnects.

The tickets on ``lifesign/v1/workorders/{worker}`` stay as they are (one message per
delivery, confirmed by the outbox); this adds the current state beside them, on
``lifesign/v1/orders/{worker}/{order_id}`` (retained, QoS 1): opened, notified,
acknowledged, onsite, escalated away (the old holder's message is cleared), resolved
(a last message, then the retained one is cleared). Staff act from other processes
(the CLI, the desk), so the service compares the store with what it last published,
on its status period and after every sweep and escalation.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import orjson
import paho.mqtt.client as mqtt

from dispatch.orderstores.base import DispatchStore
from dispatch.pipeline import watches
from lifesign.registry import Registry
from lifesign.wire import order_state_topic
from lifesign.workorders import ACTIVE, WorkOrder

log = logging.getLogger("lifesign.order_topics")


class OrderStatePublisher:
    def __init__(self, store: DispatchStore, client: mqtt.Client, registry: Registry | None = None) -> None:
        """``registry``: publish only its homes' and areas' orders (a partition's; the other
        partitions' instances publish theirs)."""
        self._store = store
        self._client = client
        self._registry = registry
        #: order id -> (holder, state message) last published
        self._published: dict[int, tuple[str, bytes]] = {}
        self._lock = threading.Lock()

    def publish_changes(self) -> int:
        """Publish every order whose state changed since the last call; how many messages went out."""
        with self._lock:
            sent = 0
            active = {o.order_id: o for o in self._store.list(ACTIVE)
                      if self._registry is None or watches(self._registry, o.household_id)}
            for order in active.values():
                message = orjson.dumps(state_message(order))
                before = self._published.get(order.order_id)
                if before == (order.assignee, message):
                    continue
                if before is not None and before[0] != order.assignee:
                    sent += self._send(order_state_topic(before[0], order.order_id), b"")  # escalated away
                sent += self._send(order_state_topic(order.assignee, order.order_id), message)
                self._published[order.order_id] = (order.assignee, message)
            for order_id in [i for i in self._published if i not in active]:
                holder, _ = self._published.pop(order_id)
                order = self._store.get(order_id)
                topic = order_state_topic(holder, order_id)
                # the closing state once, to whoever is listening now; then nothing retained
                sent += self._send(topic, orjson.dumps(state_message(order)), retain=False)
                sent += self._send(topic, b"")
            return sent

    def _send(self, topic: str, payload: bytes, retain: bool = True) -> int:
        info = self._client.publish(topic, payload, qos=1, retain=retain)
        if info.rc != mqtt.MQTT_ERR_SUCCESS and info.rc != mqtt.MQTT_ERR_NO_CONN:
            log.warning("order state to %s not published: %s", topic, mqtt.error_string(info.rc))
        # paho queues while disconnected and sends on reconnect; the broker keeps the retained copy
        return 1


def state_message(order: WorkOrder) -> dict[str, Any]:
    return {
        "order_id": order.order_id, "household_id": order.household_id, "rule": order.rule,
        "episode_start": order.key.episode_start, "status": order.status.value, "assignee": order.assignee,
        "responsible": order.responsible, "tier": order.tier, "escalation_level": order.escalation_level,
        "opened_at": order.opened_at, "acknowledged_at": order.acknowledged_at, "resolved_at": order.resolved_at,
        "outcome": order.outcome.value if order.outcome else None,
    }


__all__ = ["OrderStatePublisher", "state_message"]
