"""GatewayPublisher against a real mosquitto (the ``mosquitto_port`` fixture of tests/conftest.py)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator

import numpy as np
import paho.mqtt.client as mqtt
import pytest

from ingest.decode import ReadingDecoder
from lifesign.clock import ManualClock
from lifesign.readings import ReadingBatch
from lifesign.wire import READINGS_SUBSCRIPTION, gateway_of
from simulators.cohort import make_cohort
from simulators.gateways import GatewayPublisher, GatewayPublishError
from simulators.routine import DAY, HOUR
from simulators.scenario import Round, Scenario

pytestmark = pytest.mark.mosquitto
START = 20047 * DAY - 8 * HOUR


def connected_client(port: int, client_id: str) -> mqtt.Client:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311)
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client


class Subscriber:
    """Collects (topic, payload) of every reading message."""

    def __init__(self, port: int) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self._subscribed = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="sim-test-sub", protocol=mqtt.MQTTv311)
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(READINGS_SUBSCRIPTION, qos=1)
        self.client.on_subscribe = lambda c, u, mid, rcs, p: self._subscribed.set()
        self.client.on_message = lambda c, u, msg: self.messages.append((msg.topic, bytes(msg.payload)))
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert self._subscribed.wait(10), "the subscription was not acknowledged"

    def wait_for(self, count: int, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.01)

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def subscriber(mosquitto_port: int) -> Iterator[Subscriber]:
    sub = Subscriber(mosquitto_port)
    yield sub
    sub.stop()


@pytest.fixture
def publisher_client(mosquitto_port: int) -> Iterator[mqtt.Client]:
    client = connected_client(mosquitto_port, "sim-test-gateways")
    yield client
    client.disconnect()
    client.loop_stop()


def test_one_columnar_message_per_gateway_per_round_decodes_to_the_round(
    subscriber: Subscriber, publisher_client: mqtt.Client
) -> None:
    cohort = make_cohort(100, 3, with_gas_fraction=0.2, meters_per_gateway=48)
    registry = cohort.registry
    n_gateways = len(registry.gateway_ids)
    scenario = Scenario(cohort, START, days=4 * 900 / DAY, seed=1)
    clock = ManualClock(START)
    seen: list[tuple[int, int, Round]] = []

    published = GatewayPublisher(publisher_client, registry).run(
        scenario, clock, on_round=lambda i, n, rnd: seen.append((i, n, rnd))
    )

    assert n_gateways == 5
    assert published == 4 * n_gateways
    assert [(i, n) for i, n, _ in seen] == [(i, 4) for i in range(4)]
    assert clock.now() == seen[-1][2].ts == scenario.end
    subscriber.wait_for(published)
    assert len(subscriber.messages) == published

    decoder = ReadingDecoder(registry)
    per_gateway_round: Counter[tuple[str, float]] = Counter()
    by_round: dict[float, list[ReadingBatch]] = {}
    for topic, payload in subscriber.messages:
        gateway_id = gateway_of(topic)
        assert gateway_id is not None, topic
        decoded = decoder.decode(payload, gateway_id, now=clock.now())
        assert decoded.rejections == []
        ts = float(decoded.batch.ts[0])
        per_gateway_round[(gateway_id, ts)] += 1
        by_round.setdefault(ts, []).append(decoded.batch)
    assert set(per_gateway_round.values()) == {1}
    assert len(per_gateway_round) == 4 * n_gateways
    for _, _, rnd in seen:
        got = ReadingBatch.concat(by_round[rnd.ts]).sorted_by_meter_time()
        want = rnd.batch.sorted_by_meter_time()
        np.testing.assert_array_equal(got.meter, want.meter)
        np.testing.assert_array_equal(got.ts, want.ts)
        np.testing.assert_array_equal(got.value, want.value)


def test_a_round_with_some_meters_skips_gateways_without_readings(
    subscriber: Subscriber, publisher_client: mqtt.Client
) -> None:
    cohort = make_cohort(64, 1)  # 128 meters: GW001 and GW002
    rnd = next(Scenario(cohort, START, 1).rounds())
    only_first = rnd.batch.take(np.flatnonzero(rnd.batch.meter < 10))
    sent = GatewayPublisher(publisher_client, cohort.registry).publish_round(Round(rnd.ts, only_first))
    assert sent == 1
    subscriber.wait_for(1)
    assert [topic for topic, _ in subscriber.messages] == ["lifesign/v1/readings/GW001"]
    decoded = ReadingDecoder(cohort.registry).decode(subscriber.messages[0][1], "GW001", now=rnd.ts)
    assert decoded.batch.meter.tolist() == list(range(10))


def test_an_unconnected_client_fails_the_round_with_a_clear_error() -> None:
    cohort = make_cohort(10, 1)
    rnd = next(Scenario(cohort, START, 1).rounds())
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="never-connected")
    with pytest.raises(GatewayPublishError, match=r"gateway GW001: publish of the round at ts=.* failed .*connected"):
        GatewayPublisher(client, cohort.registry).publish_round(rnd)
