"""Test probes shared by every test folder: a plain MQTT client and a bounded wait."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

#: how long a test waits for something a local server or child does before calling it a hang:
#: generous, because CI's two cores may be busy with other work (a bound, never a speed check)
BOUND_S = 60.0


def eventually(condition: Callable[[], bool], what: str, timeout: float = BOUND_S) -> None:
    """Wait until condition() holds; fail naming what never happened (a bound, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"gave up waiting {timeout} s for: {what}")


class MqttProbe:
    """A plain paho client for tests: publishes like a gateway, collects what it subscribed to."""

    def __init__(self, port: int, client_id: str, subscribe: str | None = None) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        self.received: list[tuple[str, bytes]] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311
        )
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *args: self._subscribed.set()
        if subscribe is not None:
            self.client.on_connect = lambda client, *args: client.subscribe(subscribe, qos=1)
        else:
            self._subscribed.set()
        self.client.connect("127.0.0.1", port, keepalive=10)
        self.client.loop_start()
        if not self._subscribed.wait(BOUND_S):
            raise AssertionError(f"probe {client_id} was not subscribed to {subscribe} within {BOUND_S} s")

    def _on_message(self, client: object, userdata: object, message: object) -> None:
        with self._lock:
            self.received.append((message.topic, message.payload))  # type: ignore[attr-defined]

    def messages(self) -> list[tuple[str, bytes]]:
        with self._lock:
            return list(self.received)

    def publish(self, topic: str, payload: bytes, qos: int = 1) -> None:
        info = self.client.publish(topic, payload, qos=qos)
        info.wait_for_publish(BOUND_S)
        if not info.is_published():
            raise AssertionError(f"broker did not confirm the publish to {topic} within {BOUND_S} s")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
