"""MqttIngestor against real brokers: mosquitto (production) and the embedded amqtt (demo)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from ingest_testkit import NOW, DiskFullHistoryStore, MqttProbe, RecordingSink, eventually

from ingest.counters import IngestCounters
from ingest.decode import ReadingDecoder, Reason
from ingest.historystores.memory import MemoryHistoryStore
from ingest.historystores.segments import SegmentHistoryStore
from ingest.subscriber import MqttIngestor
from lifesign.clock import ManualClock
from lifesign.mqttclient import BrokerSettings
from lifesign.registry import Registry
from lifesign.stores import HistoryStore
from lifesign.wire import encode_columnar, readings_topic


@pytest.fixture
def gateway(mqtt_broker: BrokerSettings) -> Iterator[MqttProbe]:
    probe = MqttProbe(mqtt_broker.port, "gateway-probe")
    yield probe
    probe.close()


@pytest.fixture
def dead_letters(mqtt_broker: BrokerSettings) -> Iterator[MqttProbe]:
    probe = MqttProbe(mqtt_broker.port, "dead-letter-probe", subscribe="lifesign/v1/_rejected/#")
    yield probe
    probe.close()


def started(
    broker: BrokerSettings, registry: Registry, store: HistoryStore, sink: RecordingSink
) -> MqttIngestor:
    ingestor = MqttIngestor(broker, ReadingDecoder(registry), store, [sink], ManualClock(NOW))
    ingestor.start()
    assert ingestor.wait_subscribed(60), "the broker never granted the readings subscription"
    return ingestor


def good_payloads() -> list[tuple[str, bytes]]:
    """Five good readings from both gateways, in all three shapes."""
    return [
        (readings_topic("GW-A"), orjson.dumps({"meter": "W-0001", "ts": NOW - 600, "value": 1.5})),
        (
            readings_topic("GW-A"),
            orjson.dumps(
                {
                    "readings": [
                        {"meter": "W-0001", "ts": NOW - 300, "value": 1.625},
                        {"meter": "E-0001", "ts": NOW - 300, "value": 100.0},
                    ]
                }
            ),
        ),
        (
            readings_topic("GW-B"),
            orjson.dumps(
                {"meters": ["W-0003", "W-0003"], "ts": [NOW - 600, NOW - 300], "values": [3.0, 3.0]}
            ),
        ),
    ]


def test_good_readings_stored_once_and_every_rejection_dead_lettered(
    mqtt_broker: BrokerSettings,
    registry: Registry,
    gateway: MqttProbe,
    dead_letters: MqttProbe,
    tmp_path: Path,
) -> None:
    store = SegmentHistoryStore(tmp_path / "history", list(registry.meter_ids))
    sink = RecordingSink()
    ingestor = started(mqtt_broker, registry, store, sink)
    try:
        messages = good_payloads() + [
            # the single reading again: a gateway's retry
            (
                readings_topic("GW-A"),
                orjson.dumps({"meter": "W-0001", "ts": NOW - 600, "value": 1.5}),
            ),
            (
                readings_topic("GW-A"),
                orjson.dumps(
                    {
                        "readings": [
                            {"meter": "X-9999", "ts": NOW - 60, "value": 1.0},
                            {"meter": "W-0003", "ts": NOW - 60, "value": 1.0},  # bound to GW-B
                            {"meter": "E-0001", "ts": NOW - 60, "value": "NaN"},
                            {"meter": "W-0002", "ts": NOW - 60, "value": -0.5},
                            {
                                "meter": "W-0002",
                                "ts": NOW - 60,
                                "value": 7.25,
                            },  # good, beside the garbage
                        ]
                    }
                ),
            ),
            (readings_topic("GW-B"), b'{"meters": ["W-0003"], "ts": '),
            ("lifesign/v1/readings/", orjson.dumps({"meter": "W-0001", "ts": NOW, "value": 2.0})),
        ]
        for topic, payload in messages:
            gateway.publish(topic, payload)

        eventually(lambda: ingestor.counters.messages_acked == len(messages), "every message acked")
        # one report per refused message, whatever it held: 4 bad readings, garbage, a wrong topic
        eventually(lambda: len(dead_letters.messages()) == 3, "three dead-letter reports")
        assert ingestor.wait_idle(60)

        ids = registry.meter_index
        expected = sorted(
            [
                (ids["W-0001"], NOW - 600, 1.5),
                (ids["W-0001"], NOW - 300, 1.625),
                (ids["E-0001"], NOW - 300, 100.0),
                (ids["W-0002"], NOW - 60, 7.25),
                (ids["W-0003"], NOW - 600, 3.0),
                (ids["W-0003"], NOW - 300, 3.0),
            ]
        )
        stored = store.read()
        assert (
            list(zip(stored.meter.tolist(), stored.ts.tolist(), stored.value.tolist())) == expected
        )
        # the sink saw every good reading once: the gateway's retry was recognised and counted
        assert sorted(sink.points()) == expected
        assert ingestor.counters.duplicates == 1 and ingestor.counters.readings_stored == len(expected)

        letters = sorted(
            (topic.rsplit("/", 1)[1], doc["gateway"], doc["rejected"], tuple(sorted(doc["reasons"].items())),
             tuple(sample["reason"] for sample in doc["samples"]))
            for topic, doc in ((t, orjson.loads(p)) for t, p in dead_letters.messages())
        )
        assert letters == sorted(
            [
                ("GW-A", "GW-A", 4, ((Reason.BAD_VALUE, 2), (Reason.UNKNOWN_METER, 1), (Reason.WRONG_GATEWAY, 1)),
                 (Reason.UNKNOWN_METER, Reason.WRONG_GATEWAY, Reason.BAD_VALUE, Reason.BAD_VALUE)),
                ("GW-B", "GW-B", 1, ((Reason.MALFORMED_JSON, 1),), (Reason.MALFORMED_JSON,)),
                ("_unknown", "_unknown", 1, ((Reason.BAD_SHAPE, 1),), (Reason.BAD_SHAPE,)),
            ]
        )
        counts = ingestor.counters.snapshot()
        assert {k: counts[k] for k in ("messages_received", "readings_received", "readings_stored", "duplicates",
                                       "late", "messages_acked", "failed_batches", "rejected")} == {
            "messages_received": len(messages),
            "readings_received": 7,
            "readings_stored": 6,
            "duplicates": 1,
            "late": 0,
            "messages_acked": len(messages),
            "failed_batches": 0,
            "rejected": {
                "unknown_meter": 1,
                "wrong_gateway": 1,
                "bad_value": 2,
                "malformed_json": 1,
                "bad_shape": 1,
            },
        }
    finally:
        ingestor.stop()
        store.close()


def test_a_batch_published_twice_leaves_one_point_each(
    mqtt_broker: BrokerSettings, registry: Registry, gateway: MqttProbe
) -> None:
    store = MemoryHistoryStore()
    ingestor = started(mqtt_broker, registry, store, RecordingSink())
    try:
        payload = encode_columnar(["W-0001", "E-0001", "W-0002"], NOW - 900, [1.0, 2.0, 3.0])
        gateway.publish(readings_topic("GW-A"), payload)
        gateway.publish(readings_topic("GW-A"), payload)
        eventually(lambda: ingestor.counters.messages_acked == 2, "both copies acked")
        assert store.count() == 3
        assert (ingestor.counters.readings_stored, ingestor.counters.duplicates) == (3, 3)
    finally:
        ingestor.stop()


def test_nothing_is_acked_while_the_store_cannot_write(
    mqtt_broker: BrokerSettings, registry: Registry, gateway: MqttProbe
) -> None:
    store = DiskFullHistoryStore()
    sink = RecordingSink()
    counters = IngestCounters()
    ingestor = MqttIngestor(
        mqtt_broker, ReadingDecoder(registry), store, [sink], ManualClock(NOW), counters=counters
    )
    ingestor.start()
    try:
        assert ingestor.wait_subscribed(60)
        for topic, payload in good_payloads():
            gateway.publish(topic, payload)
        # The worker holds the batch it took and retries it; the rest wait behind it.
        eventually(lambda: counters.failed_batches >= 2, "the worker retrying the failed batch")
        assert store.attempts == counters.failed_batches
        assert counters.messages_acked == 0 and counters.readings_stored == 0
        assert sink.batches == []  # the detector never sees readings the store does not hold
        # Space comes back: the batch in hand is stored and acked without any reconnect.
        store.free_space()
        eventually(lambda: counters.messages_acked == 3, "the three messages acked after recovery")
        assert store.count() == 5 and len(sink.points()) == 5
    finally:
        ingestor.stop()


def test_readings_published_while_the_ingestor_is_down_arrive_on_restart(
    mqtt_broker: BrokerSettings, registry: Registry, gateway: MqttProbe
) -> None:
    first = started(mqtt_broker, registry, MemoryHistoryStore(), RecordingSink())
    first.stop()  # the persistent session (fixed client id, clean_session=False) stays on the broker
    for topic, payload in good_payloads():
        gateway.publish(topic, payload)
    store = MemoryHistoryStore()
    second = started(mqtt_broker, registry, store, RecordingSink())
    try:
        eventually(lambda: store.count() == 5, "the five readings queued by the broker")
        eventually(lambda: second.counters.messages_acked == 3, "the three queued messages acked")
    finally:
        second.stop()


def test_unacked_messages_are_delivered_again_after_restart(
    mosquitto_broker: BrokerSettings, registry: Registry, tmp_path: Path
) -> None:
    # mosquitto only: amqtt 0.12 (the demo broker) drops a QoS 1 message left unacked at
    # disconnect instead of resending it, a documented limit of the embedded broker.
    mqtt_broker = mosquitto_broker
    gateway = MqttProbe(mqtt_broker.port, "gateway-probe")
    failing = MqttIngestor(
        mqtt_broker, ReadingDecoder(registry), DiskFullHistoryStore(), [], ManualClock(NOW)
    )
    failing.start()
    assert failing.wait_subscribed(60)
    for topic, payload in good_payloads():
        gateway.publish(topic, payload)
    eventually(lambda: failing.counters.failed_batches >= 1, "the failing ingestor's first attempt")
    assert failing.counters.messages_acked == 0
    failing.stop()

    store = SegmentHistoryStore(tmp_path / "history", list(registry.meter_ids))
    sink = RecordingSink()
    recovered = started(mqtt_broker, registry, store, sink)  # same client id: same session
    try:
        eventually(lambda: store.count() == 5, "the five readings delivered again")
        eventually(
            lambda: recovered.counters.messages_acked == 3, "the three messages acked at last"
        )
        assert len(sink.points()) == 5
    finally:
        recovered.stop()
        store.close()
        gateway.close()


def test_ingestor_reconnects_after_a_broker_restart_and_keeps_its_session(
    registry: Registry, tmp_path: Path
) -> None:
    import paho.mqtt.client as mqtt
    from brokers import free_port, run_mosquitto
    from paho.mqtt.enums import CallbackAPIVersion

    port = free_port()
    settings = BrokerSettings(
        host="127.0.0.1", port=port, client_id="lifesign-ingest-restart", keepalive_s=10
    )
    made: list[mqtt.Client] = []

    def factory() -> mqtt.Client:  # an injected client: the ingestor must still ack by hand
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=settings.client_id,
            clean_session=False,
            protocol=mqtt.MQTTv311,
        )
        made.append(client)
        return client

    store = MemoryHistoryStore()
    ingestor = MqttIngestor(
        settings, ReadingDecoder(registry), store, [], ManualClock(NOW), client_factory=factory
    )
    with run_mosquitto(port, tmp_path / "broker"):
        ingestor.start()
        assert ingestor.wait_subscribed(60)
    try:
        # mosquitto saved the session to its persistence file on the way down; it
        # reloads it here, and paho reconnects on its own (1 s .. 30 s backoff)
        with run_mosquitto(port, tmp_path / "broker"):
            gateway = MqttProbe(port, "gateway-after-restart")
            try:
                for topic, payload in good_payloads():
                    gateway.publish(topic, payload)
                eventually(lambda: store.count() == 5, "readings after the broker came back")
                eventually(
                    lambda: ingestor.counters.messages_acked == 3, "the three messages acked"
                )
            finally:
                gateway.close()
            assert len(made) == 1 and made[0].is_connected()
    finally:
        ingestor.stop()


def test_acked_messages_are_not_delivered_again_after_restart(
    mosquitto_broker: BrokerSettings, registry: Registry
) -> None:
    # mosquitto only: amqtt drops unacked messages anyway, so there a missing ack could
    # not show, and its session handling made the embedded variant flaky under load.
    mqtt_broker = mosquitto_broker
    gateway = MqttProbe(mqtt_broker.port, "gateway-probe")
    first = started(mqtt_broker, registry, MemoryHistoryStore(), RecordingSink())
    for topic, payload in good_payloads():
        gateway.publish(topic, payload)
    eventually(lambda: first.counters.messages_acked == 3, "the three messages acked")
    first.stop()  # the acks must reach the broker before the disconnect

    store = MemoryHistoryStore()
    second = started(mqtt_broker, registry, store, RecordingSink())
    try:
        marker = encode_columnar(["W-0003"], NOW - 60, [9.0])
        gateway.publish(readings_topic("GW-B"), marker)
        # a redelivery would come before the marker: the broker resends unacked messages first
        eventually(lambda: store.count() >= 1, "the marker reading")
        assert second.wait_idle(60)
        assert second.counters.messages_received == 1 and store.count() == 1
    finally:
        second.stop()
        gateway.close()


def test_a_register_that_goes_backwards_is_stored_counted_and_flagged(
    mqtt_broker: BrokerSettings, registry: Registry, gateway: MqttProbe
) -> None:
    flagged = MqttProbe(mqtt_broker.port, "flagged-probe", subscribe="lifesign/v1/_flagged")
    store = MemoryHistoryStore()
    ingestor = started(mqtt_broker, registry, store, RecordingSink())
    try:
        # a replaced meter: its register starts again near zero
        gateway.publish(readings_topic("GW-A"), orjson.dumps(
            {"meters": ["W-0001", "W-0001"], "ts": [NOW - 900, NOW - 600], "values": [812.5, 0.25]}))
        eventually(lambda: ingestor.counters.messages_acked == 1, "the message acked")
        eventually(lambda: len(flagged.messages()) == 1, "one register-reset flag")
        (topic, body), = flagged.messages()
        doc = orjson.loads(body)
        assert (topic, doc["flag"], doc["count"]) == ("lifesign/v1/_flagged", "register_reset", 1)
        assert doc["readings"][0]["meter"] == "W-0001" and doc["readings"][0]["value"] == 0.25
        assert store.count() == 2 and ingestor.counters.register_resets == 1
    finally:
        ingestor.stop()
        flagged.close()


def test_a_full_spool_stops_the_acks_and_the_broker_holds_the_rest(
    mqtt_broker: BrokerSettings, registry: Registry, gateway: MqttProbe, tmp_path: Path
) -> None:
    from ingest.historystores.framelog import HEADER, ROW_BYTES
    from ingest.spool import Spool

    store = DiskFullHistoryStore()
    # room for exactly two 10-reading batches
    spool = Spool(tmp_path / "spool", list(registry.meter_ids), 2 * (HEADER.size + 10 * ROW_BYTES))
    counters = IngestCounters()
    ingestor = MqttIngestor(mqtt_broker, ReadingDecoder(registry), store, [RecordingSink()], ManualClock(NOW),
                            counters=counters, spool=spool)
    ingestor.start()

    def message(k: int) -> bytes:
        return orjson.dumps({"meters": ["W-0001"] * 10, "ts": [NOW - 3000 + 100 * k + i for i in range(10)],
                             "values": [(10 * k + i) / 1000.0 for i in range(10)]})  # 1 L a second: plausible

    try:
        assert ingestor.wait_subscribed(60)
        for k in range(2):  # the store is down: these are spooled, and so acked
            gateway.publish(readings_topic("GW-A"), message(k))
            eventually(lambda k=k: counters.messages_acked == k + 1, f"message {k} acked from the spool")
        assert (counters.spooled, len(spool), store.count()) == (20, 20, 0)
        for k in range(2, 4):
            gateway.publish(readings_topic("GW-A"), message(k))
        # the spool is full: the worker retries the batch in hand and acks nothing more
        eventually(lambda: counters.failed_batches >= 2, "the worker retrying against the full spool")
        assert counters.messages_acked == 2
        store.free_space()
        eventually(lambda: counters.messages_acked == 4, "every message acked once the store is back")
        eventually(lambda: len(spool) == 0, "the spool drained")
        assert store.count() == 40 and counters.readings_stored == 40
    finally:
        ingestor.stop()
