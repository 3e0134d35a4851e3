"""Many QoS 1 messages acknowledged in one write (``ack_qos1``): a real mosquitto takes
every PUBACK in it, keeps the connection, and delivers again exactly the messages that
were not acknowledged when the same client comes back."""

from __future__ import annotations

import threading
from typing import Any

import paho.mqtt.client as mqtt
from probes import BOUND_S, MqttProbe, eventually

from lifesign.mqttclient import BrokerSettings, ack_qos1, connect_and_wait, make_client

TOPIC = "lifesign/v1/readings/GW-ACK"


class Subscriber:
    """A persistent-session client that acknowledges nothing by itself."""

    def __init__(self, port: int) -> None:
        self.received: list[tuple[int, bytes]] = []
        self._lock = threading.Lock()
        self.client = make_client(BrokerSettings(port=port), "acks-subscriber", persistent=True, manual_ack=True)
        #: set on the broker's SUBACK: messages published before it never reach this client
        self.subscribed = threading.Event()
        self.client.on_message = self._on_message
        self.client.on_connect = lambda client, *args: client.subscribe(TOPIC, qos=1)
        self.client.on_subscribe = lambda *args: self.subscribed.set()
        connect_and_wait(self.client, BrokerSettings(port=port), persistent=True)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.received.append((message.mid, message.payload))

    def messages(self) -> list[tuple[int, bytes]]:
        with self._lock:
            return list(self.received)

    def round_trip(self) -> None:
        """Wait for the broker to answer a publish sent after everything before it: it reads
        a client's packets in order. (Disconnecting at once, mosquitto 2.0 here sometimes had
        not taken the last PUBACKs, sent one by one or in one write alike: they came again.)"""
        info = self.client.publish("lifesign/v1/acks-fence", b"", qos=1)
        info.wait_for_publish(BOUND_S)
        assert info.is_published()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_puback_for_many_messages_in_one_write_is_taken_and_only_the_rest_come_again(mosquitto_port: int) -> None:
    first = Subscriber(mosquitto_port)
    gateway = MqttProbe(mosquitto_port, "acks-gateway")
    try:
        # connected is not enough: the subscription is sent after the CONNACK (on_connect),
        # and on a busy machine the gateway's first messages could reach the broker before it
        eventually(first.subscribed.is_set, "the subscriber's subscription taken")
        sent = [str(i).encode() for i in range(300)]
        for body in sent:
            gateway.publish(TOPIC, body, qos=1)
        eventually(lambda: len(first.messages()) == 300, "all 300 messages at the subscriber")
        acked = first.messages()[:200]
        ack_qos1(first.client, [mid for mid, _ in acked])
        first.round_trip()
        assert first.client.is_connected()
    finally:
        first.close()
    again = Subscriber(mosquitto_port)
    try:
        eventually(lambda: len(again.messages()) >= 100, "the unacknowledged messages delivered again")
        ack_qos1(again.client, [mid for mid, _ in again.messages()])
        assert sorted(body for _, body in again.messages()) == sorted(sent[200:])
        assert {body for _, body in acked} == set(sent[:200])
    finally:
        again.close()
        gateway.close()
