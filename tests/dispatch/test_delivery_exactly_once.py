"""Real mosquitto + a real local HTTP server: receivers down for a while, then up, get
every notification exactly once (counted by idempotency key), across a restart."""

from __future__ import annotations

import sys
import threading
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import paho.mqtt.client as mqtt
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from brokers import free_port
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
WAIT_S = 10.0  # an upper bound for local servers, not a speed assertion


class WorkerPhones:
    """Every worker's phone at once: subscribed to lifesign/v1/workorders/# with QoS 1."""

    def __init__(self, port: int) -> None:
        self.keys: Counter[str] = Counter()
        self._lock = threading.Condition()
        subscribed = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"p-{uuid.uuid4().hex[:8]}",
                                  protocol=mqtt.MQTTv311)
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe("lifesign/v1/workorders/#", qos=1)
        self.client.on_subscribe = lambda c, u, mid, rc, p: subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert subscribed.wait(WAIT_S)

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


def test_receivers_down_then_up_get_each_notification_exactly_once(
    tmp_path: Path, mosquitto_port: int, registry: Registry, roster: Roster
) -> None:
    clock = ManualClock(T0)
    http = Receiver(free_port())  # nothing listens there yet: connections are refused
    publisher = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="dispatch-test", protocol=mqtt.MQTTv311)
    channels: list[Channel] = [
        MqttChannel(publisher, timeout_s=5.0),  # not connected yet: the broker is "down" for us
        WebhookChannel(f"{http.url}/hook", timeout_s=2.0),
        WeComChannel(f"{http.url}/wecom?key=k", timeout_s=2.0),
        DingTalkChannel(f"{http.url}/dingtalk?access_token=t", secret="SECx", timeout_s=2.0),
    ]
    phones = WorkerPhones(mosquitto_port)
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
        publisher.connect("127.0.0.1", mosquitto_port)
        publisher.loop_start()
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
        for store in stores:
            store.close()
