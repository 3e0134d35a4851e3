"""A flood faster than the worker: the pending list never holds more than its cap, the
broker keeps the rest, and nothing is lost."""

from __future__ import annotations

import time
from pathlib import Path

import orjson
import paho.mqtt.client as mqtt
import pytest
from brokers import free_port, run_mosquitto
from ingest_testkit import NOW, eventually, make_registry
from paho.mqtt.enums import CallbackAPIVersion

from ingest.decode import ReadingDecoder
from ingest.historystores.memory import MemoryHistoryStore
from ingest.seen import SeenReadings
from ingest.subscriber import MqttIngestor
from lifesign.clock import ManualClock
from lifesign.mqttclient import BrokerSettings
from lifesign.readings import ReadingBatch
from lifesign.wire import readings_topic

pytestmark = pytest.mark.mosquitto

REGISTRY = make_registry()
CAP = 100  # far below the broker's in-flight window (1000): only the cap can hold the line


class SlowDetector:
    """A sink that takes its time, so messages pile up behind the worker."""

    def observe(self, batch: ReadingBatch) -> None:
        time.sleep(0.01)


def test_a_flood_never_fills_the_pending_list_past_its_cap(tmp_path: Path) -> None:
    port = free_port()
    messages = 5000
    with run_mosquitto(port, tmp_path / "broker"):
        store = MemoryHistoryStore()
        ingestor = MqttIngestor(BrokerSettings(port=port, client_id=f"flood-{port}"), ReadingDecoder(REGISTRY), store,
                                [SlowDetector()], ManualClock(NOW), max_batch_messages=20, max_pending_messages=CAP,
                                seen=SeenReadings(REGISTRY.n_meters))
        ingestor.start()
        flood = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="flood-gateway", protocol=mqtt.MQTTv311)
        flood.max_inflight_messages_set(1000)
        flood.max_queued_messages_set(0)
        flood.connect("127.0.0.1", port)
        flood.loop_start()
        try:
            assert ingestor.wait_subscribed(60)
            for i in range(messages):
                flood.publish(readings_topic("GW-A"), orjson.dumps(
                    {"meter": "W-0001", "ts": NOW - 50_000 + i, "value": 1.0}), qos=1)
            eventually(lambda: ingestor.counters.messages_acked == messages, "every message acked", 120)
            snapshot = ingestor.counters.snapshot()
            print(f"pending max {snapshot['pending_max']:.0f} of cap {CAP}")
            assert 0 < snapshot["pending_max"] <= CAP
            assert store.count() == messages  # the broker held the rest: nothing lost
        finally:
            flood.disconnect()
            flood.loop_stop()
            ingestor.stop()
