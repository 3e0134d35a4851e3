"""MqttChannel against a real mosquitto: a worker's subscriber receives the JSON ticket."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import paho.mqtt.client as mqtt
import pytest

from dispatch.channels import DeliveryError, MqttChannel
from dispatch.dispatcher import Dispatcher
from dispatch.orderstores import SqliteWorkOrderStore
from lifesign.alerts import Alert, AlertState, EpisodeKey
from lifesign.clock import ManualClock
from lifesign.grid import Tier
from lifesign.registry import Registry
from lifesign.roster import Roster
from lifesign.wire import workorders_topic
from lifesign.workorders import OrderStatus

pytestmark = pytest.mark.mosquitto

T0 = 1_763_700_000.0
WAIT_S = 10.0  # an upper bound for a local broker, not a speed assertion


def _client(port: int) -> mqtt.Client:
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2,
        client_id=f"t-{uuid.uuid4().hex[:8]}",
        protocol=mqtt.MQTTv311,
    )
    connected = threading.Event()
    client.on_connect = lambda c, u, f, rc, p: connected.set()
    client.connect("127.0.0.1", port)
    client.loop_start()
    assert connected.wait(WAIT_S), "could not connect to mosquitto"
    return client


class Subscriber:
    def __init__(self, port: int, topic: str) -> None:
        self.messages: list[tuple[str, Any]] = []
        self._arrived = threading.Condition()
        subscribed = threading.Event()
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"s-{uuid.uuid4().hex[:8]}",
            protocol=mqtt.MQTTv311,
        )
        self.client.on_subscribe = lambda c, u, mid, rc, p: subscribed.set()
        self.client.on_message = self._on_message
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(topic, qos=1)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert subscribed.wait(WAIT_S), f"could not subscribe to {topic}"

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        with self._arrived:
            self.messages.append((message.topic, orjson.loads(message.payload)))
            self._arrived.notify_all()

    def wait_for(self, count: int) -> list[tuple[str, Any]]:
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.messages) >= count, timeout=WAIT_S)
            return list(self.messages)

    def stop(self) -> None:
        self.client.disconnect()  # first, so the loop thread wakes up and ends at once
        self.client.loop_stop()


@pytest.fixture
def publisher(mosquitto: int) -> Iterator[mqtt.Client]:
    client = _client(mosquitto)
    yield client
    client.disconnect()
    client.loop_stop()


def test_a_worker_subscriber_receives_the_json_ticket(
    mosquitto: int, publisher: mqtt.Client, roster: Roster
) -> None:
    worker = roster.get("gw-zhang")
    subscriber = Subscriber(mosquitto, workorders_topic(worker.worker_id))
    try:
        MqttChannel(publisher).deliver(
            worker, {"order_id": 3, "title": "[RED] test", "text": "line 1\nline 2"}
        )
        (message,) = subscriber.wait_for(1)
        assert message == (
            "lifesign/v1/workorders/gw-zhang",
            {"order_id": 3, "title": "[RED] test", "text": "line 1\nline 2"},
        )
    finally:
        subscriber.stop()


def test_a_client_that_is_not_connected_is_a_recoverable_failure(roster: Roster) -> None:
    never_connected = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    with pytest.raises(DeliveryError, match="not connected") as caught:
        MqttChannel(never_connected).deliver(roster.get("gw-zhang"), {"order_id": 1})
    assert caught.value.recoverable is True


def test_a_payload_that_is_not_json_is_not_recoverable(
    publisher: mqtt.Client, roster: Roster
) -> None:
    with pytest.raises(DeliveryError, match="not JSON-able") as caught:
        MqttChannel(publisher).deliver(roster.get("gw-zhang"), {"order_id": object()})
    assert caught.value.recoverable is False


def test_qos_0_is_refused() -> None:
    with pytest.raises(ValueError, match="qos must be 1 or 2"):
        MqttChannel(mqtt.Client(mqtt.CallbackAPIVersion.VERSION2), qos=0)


def test_dispatcher_to_worker_topic_end_to_end(
    mosquitto: int, publisher: mqtt.Client, registry: Registry, roster: Roster, tmp_path: Any
) -> None:
    clock = ManualClock(T0)
    store = SqliteWorkOrderStore(tmp_path / "orders.sqlite")
    deadlines = {Tier.RED: 900.0, Tier.YELLOW: 3600.0, Tier.GREEN: 14_400.0}
    dispatcher = Dispatcher(store, registry, roster, [MqttChannel(publisher)], clock, deadlines)
    worker_inbox = Subscriber(mosquitto, workorders_topic("gw-zhang"))
    leader_inbox = Subscriber(mosquitto, workorders_topic("gl-li"))
    try:
        alert = Alert(
            EpisodeKey("H0001", "no_usage", T0 - 50_000),
            AlertState.OPENED,
            T0,
            {
                "confirmed_silence_s": 46_800.0,
                "threshold_s": 43_200.0,
                "last_usage_water": T0 - 50_000,
            },
        )
        (order,) = dispatcher.handle([alert])
        assert dispatcher.deliver_pending() == 1
        ((_topic, ticket),) = worker_inbox.wait_for(1)
        assert ticket["order_id"] == order.order_id
        assert ticket["resident"]["name"] == "Wang Fang"
        assert ticket["address"]["full"] == "C1 / G01 / bldg B001 / unit 2 / room 301"
        assert ticket["confirmed_silence_h"] == 13.0
        assert store.get(order.order_id).status is OrderStatus.NOTIFIED

        clock.advance_to(T0 + 900)
        dispatcher.escalate_due()
        assert dispatcher.deliver_pending() == 1
        ((_, escalated),) = leader_inbox.wait_for(1)
        assert (escalated["order_id"], escalated["assignee"], escalated["escalation_level"]) == (
            order.order_id,
            "gl-li",
            1,
        )
        assert len(worker_inbox.messages) == 1
    finally:
        worker_inbox.stop()
        leader_inbox.stop()
        store.close()


def test_no_confirmation_within_the_timeout_is_a_recoverable_failure(
    mosquitto: int, roster: Roster
) -> None:
    client = _client(mosquitto)
    client.loop_stop()  # still connected, but nobody reads the broker's PUBACK any more
    try:
        with pytest.raises(
            DeliveryError, match="did not confirm lifesign/v1/workorders/gw-zhang within 0.2 s"
        ) as caught:
            MqttChannel(client, timeout_s=0.2).deliver(roster.get("gw-zhang"), {"order_id": 1})
        assert caught.value.recoverable is True
    finally:
        client.disconnect()
