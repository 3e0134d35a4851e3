"""The shipped broker ACLs (configs/mosquitto-acl.conf, configs/mosquitto.acl) on a real
mosquitto: a gateway can write only its own readings topic, nobody but lifesign can
write work orders or take lifesign's client id, and lifesign refuses to run on
credentials the broker refuses."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import paho.mqtt.client as mqtt
import pytest
from brokers import free_port, run_mosquitto_acl
from ingest_testkit import NOW, RecordingSink, eventually, make_registry
from paho.mqtt.enums import CallbackAPIVersion

from ingest.decode import ReadingDecoder
from ingest.historystores.memory import MemoryHistoryStore
from ingest.subscriber import MqttIngestor
from lifesign.clock import ManualClock
from lifesign.mqttclient import BrokerRefusedError, BrokerSettings, connect_and_wait, make_client
from lifesign.wire import readings_topic, workorders_topic

pytestmark = pytest.mark.mosquitto

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
LIFESIGN = str(Path(sys.executable).with_name("lifesign"))
REGISTRY = make_registry()
SERVICE = {"lifesign": "service-secret"}
CLIENTS = {"GW-A": "a-secret", "GW-B": "b-secret", "gw-001": "phone-secret"}


class Client:
    """A gateway or a phone on the network listener (its client id becomes its user name)."""

    def __init__(self, port: int, user: str, password: str, client_id: str, subscribe: str | None = None) -> None:
        self.got: list[tuple[str, bytes]] = []
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311)
        self.client.username_pw_set(user, password)
        self.client.on_message = lambda c, u, m: self.got.append((m.topic, bytes(m.payload)))
        connect_and_wait(self.client, BrokerSettings(port=port, username=user, password=password))
        if subscribe:
            granted: list[object] = []
            self.client.on_subscribe = lambda c, u, mid, codes, p: granted.extend(codes)
            self.client.subscribe(subscribe, qos=1)
            eventually(lambda: bool(granted), f"{user}'s subscription answered")
            self.granted = granted

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        info.wait_for_publish(10)  # mosquitto acks a refused QoS 1 publish too, and drops it

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def acl_broker(tmp_path: Path) -> Iterator[tuple[int, int]]:
    service_port, clients_port = free_port(), free_port()
    with run_mosquitto_acl(service_port, clients_port, tmp_path / "broker", SERVICE, CLIENTS):
        yield service_port, clients_port


def lifesign_settings(port: int, client_id: str = "lifesign-ingest", password: str = "service-secret") -> BrokerSettings:
    return BrokerSettings(port=port, client_id=client_id, username="lifesign", password=password, keepalive_s=10)


def test_gateways_write_only_their_own_readings_and_nobody_else_writes_work_orders(acl_broker: tuple[int, int]) -> None:
    service_port, clients_port = acl_broker
    store = MemoryHistoryStore()
    ingestor = MqttIngestor(lifesign_settings(service_port), ReadingDecoder(REGISTRY), store, [RecordingSink()],
                            ManualClock(NOW))
    ingestor.start()
    gateway = Client(clients_port, "GW-A", "a-secret", "anything")
    phone = Client(clients_port, "gw-001", "phone-secret", "phone", subscribe=workorders_topic("gw-001"))
    dispatch = make_client(lifesign_settings(service_port), "lifesign-ingest-dispatch")
    try:
        assert ingestor.wait_subscribed(60)
        connect_and_wait(dispatch, lifesign_settings(service_port))
        # GW-A forging GW-B's meter on GW-B's topic, and a work order (retained, too)
        gateway.publish(readings_topic("GW-B"), orjson.dumps({"meter": "W-0003", "ts": NOW - 120, "value": 9.0}))
        gateway.publish(workorders_topic("gw-001"), b'{"order_id": 999, "forged": true}', retain=True)
        gateway.publish(workorders_topic("gw-001"), b'{"order_id": 998, "forged": true}')
        # what is allowed: its own readings; lifesign's work order to the phone
        gateway.publish(readings_topic("GW-A"), orjson.dumps({"meter": "W-0001", "ts": NOW - 60, "value": 1.0}))
        dispatch.publish(workorders_topic("gw-001"), b'{"order_id": 1}', qos=1).wait_for_publish(10)
        eventually(lambda: store.count() == 1, "GW-A's own reading stored")
        eventually(lambda: len(phone.got) == 1, "lifesign's work order on the phone")
        time.sleep(0.5)  # a forged message would have arrived beside the honest ones by now
        stored = store.read()
        assert stored.meter.tolist() == [REGISTRY.meter_index["W-0001"]]
        assert phone.got == [(workorders_topic("gw-001"), b'{"order_id": 1}')]
        # nothing retained by the forger: a new phone session sees no order either
        late_phone = Client(clients_port, "gw-001", "phone-secret", "phone-2", subscribe=workorders_topic("gw-001"))
        time.sleep(0.3)
        assert late_phone.got == []
        late_phone.close()
        # a gateway cannot read other gateways' readings (nor work orders)
        spy = Client(clients_port, "GW-B", "b-secret", "spy", subscribe="lifesign/v1/readings/#")
        gateway.publish(readings_topic("GW-A"), orjson.dumps({"meter": "W-0001", "ts": NOW - 30, "value": 1.0}))
        eventually(lambda: store.count() == 2, "the second reading stored")
        time.sleep(0.3)
        assert spy.got == []
        spy.close()
    finally:
        dispatch.disconnect()
        dispatch.loop_stop()
        phone.close()
        gateway.close()
        ingestor.stop()


def test_nobody_else_can_take_lifesigns_client_id(acl_broker: tuple[int, int]) -> None:
    service_port, clients_port = acl_broker
    store = MemoryHistoryStore()
    ingestor = MqttIngestor(lifesign_settings(service_port), ReadingDecoder(REGISTRY), store, [RecordingSink()],
                            ManualClock(NOW))
    ingestor.start()
    try:
        assert ingestor.wait_subscribed(60)
        # on lifesign's listener: a gateway's credentials, or none, are refused
        for user, password in (("GW-A", "a-secret"), (None, None)):
            intruder = make_client(BrokerSettings(port=service_port, username=user, password=password),
                                   "lifesign-ingest")
            with pytest.raises(BrokerRefusedError, match="Not authorized"):
                connect_and_wait(intruder, BrokerSettings(port=service_port, username=user, password=password))
        # on the network listener the id it asks for is replaced by its user name
        impostor = Client(clients_port, "GW-A", "a-secret", "lifesign-ingest")
        impostor.publish(readings_topic("GW-A"), orjson.dumps({"meter": "W-0001", "ts": NOW - 60, "value": 1.0}))
        eventually(lambda: store.count() == 1, "readings still reach lifesign")
        impostor.close()
        assert ingestor.counters.broker_disconnects == 0 and ingestor.counters.snapshot()["broker_connected"] == 1
    finally:
        ingestor.stop()


def test_lifesign_run_exits_non_zero_with_the_brokers_reason_on_wrong_credentials(
    acl_broker: tuple[int, int], tmp_path: Path
) -> None:
    service_port, _ = acl_broker
    for name in ("registry", "roster.yaml", "thresholds.yaml"):
        (shutil.copytree if name == "registry" else shutil.copy)(CONFIGS / name, tmp_path / name)
    site = (CONFIGS / "site.yaml").read_text().replace("port: 1883", f"port: {service_port}")
    site = site.replace("data_dir: ../var", "data_dir: var").replace("port: 8080", "port: 0")  # a free web port
    site = site.replace("  # username: lifesign ", "  username: lifesign  ").replace("  # password: ...", "  password: guess")
    (tmp_path / "site.yaml").write_text(site)
    run = subprocess.run([LIFESIGN, "run", "-c", str(tmp_path / "site.yaml")], check=False, capture_output=True, text=True,
                         timeout=60, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert run.returncode != 0, run.stdout + run.stderr
    assert f"error: broker 127.0.0.1:{service_port} refused the connection" in run.stderr
    assert "(user 'lifesign'): Not authorized" in run.stderr
    assert "lifesign running" not in run.stdout
