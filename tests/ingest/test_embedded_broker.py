"""The embedded amqtt broker, checked with paho: what the demo relies on."""

from __future__ import annotations

import socket
import threading

import paho.mqtt.client as mqtt
import pytest
from ingest_testkit import MqttProbe, eventually
from paho.mqtt.enums import CallbackAPIVersion

from app.embedded_broker import EmbeddedBroker, EmbeddedBrokerError


def accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class PersistentSubscriber:
    """clean_session=False, subscribed only once: the ingestor's way of connecting."""

    def __init__(self, port: int, client_id: str, subscribe: bool) -> None:
        self.got: list[tuple[bytes, int]] = []
        self.connected = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=False,
            protocol=mqtt.MQTTv311,
        )
        self.client.on_message = lambda c, u, m: self.got.append((bytes(m.payload), m.qos))
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *args: subscribed.set()
        self.client.on_connect = lambda *args: self.connected.set()
        self.client.connect("127.0.0.1", port, keepalive=10)
        self.client.loop_start()
        assert self.connected.wait(10)
        if subscribe:
            self.client.subscribe("demo/+", qos=1)
            assert subscribed.wait(10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_port_zero_picks_a_free_port_and_stop_frees_it() -> None:
    broker = EmbeddedBroker()
    with broker:
        assert broker.port > 0 and accepts(broker.port)
    assert not accepts(broker.port)
    broker.stop()  # stopping twice is harmless


def test_a_taken_port_is_reported_with_the_address() -> None:
    with (
        EmbeddedBroker() as first,
        pytest.raises(EmbeddedBrokerError, match=f"127.0.0.1:{first.port}"),
    ):
        EmbeddedBroker(port=first.port).start()


#: a bound on a few messages crossing a pure-Python broker (a hang fails; not a speed assertion)
DELIVERY_TIMEOUT_S = 60.0


def test_qos1_messages_reach_a_persistent_session_across_a_reconnect() -> None:
    with EmbeddedBroker() as broker:
        gateway = MqttProbe(broker.port, "gw")
        subscriber = PersistentSubscriber(broker.port, "ingest", subscribe=True)
        try:
            gateway.publish("demo/a", b"online")
            eventually(
                lambda: subscriber.got == [(b"online", 1)], "the QoS 1 message while connected",
                timeout=DELIVERY_TIMEOUT_S,
            )
            subscriber.close()
            # "away" starts when the broker has handled the DISCONNECT, not when paho sent it:
            # on a busy machine a message published in between went to the closing connection
            eventually(lambda: broker.session_state("ingest") == "disconnected",
                       "the broker to see the subscriber go", timeout=DELIVERY_TIMEOUT_S)
            gateway.publish("demo/a", b"while-away-1")
            gateway.publish("demo/b", b"while-away-2")
            # same client id, no new SUBSCRIBE: the broker kept the session and queued for it
            subscriber = PersistentSubscriber(broker.port, "ingest", subscribe=False)
            eventually(
                lambda: sorted(subscriber.got) == [(b"while-away-1", 1), (b"while-away-2", 1)],
                "the messages queued while the subscriber was away",
                timeout=DELIVERY_TIMEOUT_S,
            )
        finally:
            subscriber.close()
            gateway.close()
