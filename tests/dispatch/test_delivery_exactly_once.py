"""Real mosquitto + a real local HTTP server: receivers down for a while (the broker
stopped, the HTTP server not listening, then answering errors), then up, get every
notification exactly once (counted by idempotency key), across a dispatcher restart."""

from __future__ import annotations

import sys
import threading
import time
import uuid
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import orjson
import paho.mqtt.client as mqtt
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from brokers import free_port, run_mosquitto
from receiver import Receiver

from dispatch.channels.base import Channel
from dispatch.channels.grouprobots import DingTalkChannel, WeComChannel
from dispatch.channels.mqtt import MqttChannel
from dispatch.channels.webhook import WebhookChannel
from dispatch.delivering import idempotency_key
from dispatch.dispatcher import Dispatcher
from dispatch.orderstores import SqliteWorkOrderStore
from lifesign.alerts import Alert, AlertState, EpisodeKey
from lifesign.clock import ManualClock
from lifesign.grid import Tier
from lifesign.registry import Registry
from lifesign.roster import Roster

pytestmark = pytest.mark.mosquitto
T0 = 1_763_700_000.0
DEADLINES = {Tier.RED: 900.0, Tier.YELLOW: 3600.0, Tier.GREEN: 14_400.0}
WAIT_S = 60.0  # an upper bound for local servers, not a speed assertion


class WorkerPhones:
    """Every worker's phone at once: subscribed to lifesign/v1/workorders/# with QoS 1."""

    def __init__(self, port: int) -> None:
        self.keys: Counter[str] = Counter()
        self._lock = threading.Condition()
        #: set each time the subscription is (re)granted, e.g. after a broker restart
        self.subscribed = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"p-{uuid.uuid4().hex[:8]}",
                                  protocol=mqtt.MQTTv311)
        self.client.reconnect_delay_set(0.1, 0.5)
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe("lifesign/v1/workorders/#", qos=1)
        self.client.on_subscribe = lambda c, u, mid, rc, p: self.subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert self.subscribed.wait(WAIT_S)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.keys[orjson.loads(message.payload)["idempotency_key"]] += 1
            self._lock.notify_all()

    def wait_for(self, n: int) -> Counter[str]:
        with self._lock:
            self._lock.wait_for(lambda: sum(self.keys.values()) >= n, timeout=WAIT_S)
            return Counter(self.keys)

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def opened(household_id: str) -> Alert:
    return Alert(EpisodeKey(household_id, "no_usage", T0 - 50_000), AlertState.OPENED, T0,
                 {"confirmed_silence_s": 50_000.0, "threshold_s": 43_200.0})


def wait_until(condition: Any, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_receivers_down_then_up_get_each_notification_exactly_once(
    tmp_path: Path, registry: Registry, roster: Roster
) -> None:
    clock = ManualClock(T0)
    port = free_port()
    broker = ExitStack()
    broker.enter_context(run_mosquitto(port, tmp_path / "broker"))  # our own broker: this test stops it
    http = Receiver(free_port())  # nothing listens there yet: connections are refused
    publisher = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="dispatch-test", protocol=mqtt.MQTTv311)
    publisher.reconnect_delay_set(0.1, 0.5)
    publisher.connect("127.0.0.1", port)
    publisher.loop_start()
    phones = WorkerPhones(port)
    broker.close()  # the broker goes down under a connected publisher
    wait_until(lambda: not publisher.is_connected(), "the publisher to notice the broker is gone")
    channels: list[Channel] = [
        MqttChannel(publisher, timeout_s=5.0),
        WebhookChannel(f"{http.url}/hook", timeout_s=2.0),
        WeComChannel(f"{http.url}/wecom?key=k", timeout_s=2.0),
        DingTalkChannel(f"{http.url}/dingtalk?access_token=t", secret="SECx", timeout_s=2.0),
    ]
    stores: list[SqliteWorkOrderStore] = []

    def dispatcher() -> Dispatcher:
        stores.append(SqliteWorkOrderStore(tmp_path / "orders.sqlite"))
        return Dispatcher(stores[-1], registry, roster, channels, clock, DEADLINES,
                          retry_base_s=10.0, retry_max_s=120.0)

    try:
        d = dispatcher()
        created = d.handle([opened("H0001"), opened("H0002")])
        assert len(created) == 2
        for _ in range(4):  # everything down: every attempt fails, nothing is marked delivered
            assert d.deliver_pending() == 0
            clock.advance(130)
        clock.advance_to(T0 + 900)
        (moved,) = d.escalate_due()  # H0001 is red: to the leader, still nobody reachable
        assert moved.assignee == "gl-li"
        assert d.deliver_pending() == 0

        # receivers come back, the HTTP one answering errors first; the dispatcher restarts
        phones.subscribed.clear()
        broker.enter_context(run_mosquitto(port, tmp_path / "broker"))
        assert phones.subscribed.wait(WAIT_S), "the phones never resubscribed on the restarted broker"
        wait_until(publisher.is_connected, "the publisher to reconnect by itself")
        http.start()
        http.fail_next("/hook", (503, {}), (502, {}))
        http.fail_next("/wecom", (200, {"errcode": 45009, "errmsg": "api freq out of limit"}))
        http.fail_next("/dingtalk", (200, {"errcode": 130101, "errmsg": "send too fast"}))
        d = dispatcher()
        for _ in range(40):
            d.deliver_pending()
            if not [x for x in d.store.deliveries() if x.pending]:
                break
            clock.advance(130)
            if _ == 5:
                d = dispatcher()
        assert [x for x in d.store.deliveries() if x.pending] == []

        orders = {o.household_id: o.order_id for o in d.store.list()}
        steps = [(orders["H0001"], 0), (orders["H0001"], 1), (orders["H0002"], 0)]
        expected = {name: Counter({idempotency_key(o, level, name): 1 for o, level in steps})
                    for name in ("mqtt", "webhook", "wecom", "dingtalk")}
        phones.wait_for(3)
        time.sleep(0.5)  # a late repeat would arrive now (a bound for a local broker, not a speed check)
        assert phones.wait_for(3) == expected["mqtt"]
        assert http.counts("/hook") == expected["webhook"]
        assert http.counts("/wecom") == expected["wecom"]
        assert http.counts("/dingtalk") == expected["dingtalk"]
        assert http.refused == 4
        # the outbox agrees: one confirmed delivery per (order, level, channel), retried before
        delivered = Counter((x.order_id, x.escalation_level, x.channel) for x in d.store.deliveries()
                            if x.delivered_at is not None)
        assert set(delivered.values()) == {1} and len(delivered) == 12
        assert all(x.attempts > 1 for x in d.store.deliveries())
        # DingTalk requests were signed
        assert all("sign=" in path for path, _, _ in http.accepted if path.startswith("/dingtalk"))
    finally:
        http.stop()
        phones.stop()
        publisher.disconnect()
        publisher.loop_stop()
        broker.close()
        for store in stores:
            store.close()
