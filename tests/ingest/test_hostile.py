"""Hostile messages next to honest ones through a real mosquitto: each bad message costs
only itself (one bounded dead-letter report, then acked), every valid reading is
stored, nothing is retried, and memory returns to where it was after the burst."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from brokers import free_port, run_mosquitto
from ingest_testkit import NOW, MqttProbe, eventually, hostile_rig, make_registry
from test_fuzz import HostileStream

from ingest.decode import ReadingDecoder
from ingest.historystores.memory import MemoryHistoryStore
from ingest.rejections import (
    MAX_REPORT_BYTES,
    Reason,
    Rejection,
    RejectionTally,
    bounded,
    encode_report,
)
from ingest.seen import SeenReadings
from ingest.subscriber import MqttIngestor
from lifesign.clock import ManualClock
from lifesign.mqttclient import BrokerSettings
from lifesign.wire import readings_topic

pytestmark = pytest.mark.mosquitto

REGISTRY = make_registry()
BROKER_PACKET_LIMIT = 1024 * 1024  # configs/mosquitto.conf max_packet_size


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def deep(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


def hostile_payloads() -> dict[str, bytes]:
    """One message of each hostile class the issue names (the fuzz corpus comes on top)."""
    digits = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    unknown = [f"X{digits[i // 3844]}{digits[i // 62 % 62]}{digits[i % 62]}" for i in range(100_000)]  # 4 chars: < 1 MiB
    long_ids = [f"Z{i:05d}" + "z" * 94 for i in range(9_000)]
    payloads = {
        # orjson stops at 1024 levels; with a bare NaN the lenient parser would be next: refused before it
        "deep_strict": b'{"readings": [' + deep(1100) + b"]}",
        "deep_lenient": b'{"readings": [{"meter": "W-0001", "ts": 1, "value": NaN}, ' + deep(1000) + b"]}",
        # parsed (< 1024 levels): a reading that is a list nested 1000 deep, echoed back boundedly
        "deep_row": b'{"readings": [' + deep(1000) + b"]}",
        "deep_meter": b'{"meters": [' + deep(200) + b', "W-0001"], "ts": 1, "values": [1, 2]}',
        # every reading refused: one rejection list per reading would pass 1 MiB (and did, as dead letters)
        "huge_rejection_list": orjson.dumps({"meters": long_ids, "ts": NOW - 60, "values": [1] * len(long_ids)}),
        # 100k unknown meters: past the reading-count limit, refused whole, unchecked
        "unknown_100k": orjson.dumps({"meters": unknown, "ts": NOW - 60, "values": [0] * len(unknown)}),
    }
    assert all(len(p) < BROKER_PACKET_LIMIT for p in payloads.values()), {k: len(p) for k, p in payloads.items()}
    return payloads


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[tuple[MqttIngestor, MemoryHistoryStore, MqttProbe, MqttProbe]]:
    # valid readings here are flat registers at distinct times: no rate check needed
    store = MemoryHistoryStore()
    with hostile_rig(tmp_path, "hostile", REGISTRY, store) as (ingestor, gateway, letters):
        yield ingestor, store, gateway, letters


def test_hostile_burst_costs_only_the_bad_messages_and_memory_comes_back(
    rig: tuple[MqttIngestor, MemoryHistoryStore, MqttProbe, MqttProbe],
) -> None:
    ingestor, store, gateway, letters = rig
    ts = iter(range(int(NOW) - 80_000, int(NOW), 10))
    sent: set[tuple[str, float]] = set()

    def publish_valid(n: int) -> None:
        for _ in range(n):
            t = float(next(ts))
            gateway.client.publish(readings_topic("GW-A"), orjson.dumps(
                {"meters": ["W-0001", "E-0001", "W-0002"], "ts": t, "values": [1.0, 2.0, 3.0]}), qos=1)
            sent.update({("W-0001", t), ("E-0001", t), ("W-0002", t)})

    published = 0
    publish_valid(50)  # warm up: the baseline is the running service, not the empty process
    published += 50
    eventually(lambda: ingestor.counters.messages_acked == published, "the warm-up acked")
    before = rss_bytes()

    stream = HostileStream(seed=15)
    hostile = hostile_payloads()
    bad_messages = 0
    for round_ in range(3):
        for name, payload in hostile.items():
            for _ in range(10 if name in ("huge_rejection_list", "unknown_100k") else 3):
                gateway.client.publish(readings_topic("GW-B" if "deep" in name else "GW-A"), payload, qos=1)
                bad_messages += 1
                published += 1
                publish_valid(2)  # honest messages right beside each hostile one
                published += 2
        for _ in range(300):
            gw, valid, bad, payload = stream.message()
            gateway.client.publish(readings_topic(gw), payload, qos=1)
            sent.update((item.split("@")[0], float(item.split("@")[1].split("=")[0])) for item in valid)
            bad_messages += bad > 0
            published += 1
    eventually(lambda: ingestor.counters.messages_acked == published, "every message acked", 120)
    assert ingestor.wait_idle(60)

    stored = store.read()
    got = {(str(REGISTRY.meter_ids[m]), t) for m, t in zip(stored.meter.tolist(), stored.ts.tolist())}
    assert sent <= got, f"{len(sent - got)} valid readings not stored"
    # nothing stalled: no batch was failed and retried, every message acked once
    assert ingestor.counters.failed_batches == 0
    # at most one bounded report per bad message; the counters hold the full numbers
    eventually(lambda: len(letters.messages()) == ingestor.counters.dead_letters_sent, "the reports")
    reports = letters.messages()
    assert len(reports) + ingestor.counters.dead_letters_suppressed == bad_messages
    assert max(len(body) for _, body in reports) <= MAX_REPORT_BYTES < BROKER_PACKET_LIMIT
    rejected = ingestor.counters.rejected
    assert rejected[Reason.TOO_LARGE] >= 3 * 10 * 100_000
    assert rejected[Reason.UNKNOWN_METER] >= 3 * 10 * 9_000
    assert ingestor.counters.broker_disconnects == 0  # no report ever got lifesign thrown off the broker

    del reports, stored, got
    after = rss_bytes()
    status = Path("/proc/self/status").read_text().splitlines()
    peak = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM"))
    print(f"RSS before the burst {before / 2**20:.0f} MiB, after {after / 2**20:.0f} MiB, peak {peak / 2**20:.0f} MiB")
    assert after - before < 50 * 2**20, f"RSS grew {(after - before) / 2**20:.0f} MiB over the burst"


def test_a_message_that_makes_the_decoder_raise_is_dead_lettered_and_the_rest_go_on(tmp_path: Path) -> None:
    class Exploding(ReadingDecoder):
        def decode(self, payload, gateway_id, now):  # type: ignore[no-untyped-def]
            if payload.startswith(b'{"boom"'):
                raise RecursionError("maximum recursion depth exceeded")
            return super().decode(payload, gateway_id, now)

    port = free_port()
    with run_mosquitto(port, tmp_path / "broker"):
        store = MemoryHistoryStore()
        ingestor = MqttIngestor(BrokerSettings(port=port, client_id=f"boom-{port}"), Exploding(REGISTRY), store,
                                [], ManualClock(NOW), seen=SeenReadings(REGISTRY.n_meters))
        ingestor.start()
        letters = MqttProbe(port, "boom-letters", subscribe="lifesign/v1/_rejected/#")
        gateway = MqttProbe(port, "boom-gateway")
        try:
            assert ingestor.wait_subscribed(60)
            for i in range(20):
                gateway.client.publish(readings_topic("GW-A"), b'{"boom": 1}' if i % 4 == 0 else orjson.dumps(
                    {"meter": "W-0001", "ts": NOW - 1000 + i, "value": 1.0}), qos=1)
            eventually(lambda: ingestor.counters.messages_acked == 20, "all twenty acked, the bad ones too")
            eventually(lambda: len(letters.messages()) == 5, "one report per bad message")
            assert store.count() == 15 and ingestor.counters.failed_batches == 0
            assert {orjson.loads(body)["samples"][0]["detail"] for _, body in letters.messages()} == {
                "decoder failed: RecursionError"}
        finally:
            gateway.close()
            letters.close()
            ingestor.stop()


def test_reports_stay_bounded_whatever_the_item() -> None:
    nested: list[object] = []
    for _ in range(5000):  # deeper than Python's recursion limit: repr() of it would raise
        nested = [nested]
    tally = RejectionTally()
    for item in (nested, "x" * 10**6, 10**400, {str(i): i for i in range(10**5)}, float("nan"), b"\xff" * 10**5):
        tally.add(Rejection(Reason.BAD_SHAPE, "d" * 10**5, item), 10**6)
    report = encode_report("GW-" + "g" * 10**5, "t" * 10**5, tally, NOW, suppressed=7)
    assert len(report) <= MAX_REPORT_BYTES
    doc = orjson.loads(report)
    assert doc["rejected"] == 6 * 10**6 and doc["suppressed_reports"] == 7 and len(doc["samples"]) == 5
    assert json.dumps(bounded(nested)).count("[") <= 5


def test_the_decoder_counts_every_refusal_but_keeps_only_a_few() -> None:
    payloads = hostile_payloads()
    decoded = ReadingDecoder(REGISTRY).decode(payloads["huge_rejection_list"], "GW-A", NOW)
    assert decoded.tally.counts == {Reason.UNKNOWN_METER: 9_000} and len(decoded.rejections) == 8
    decoded = ReadingDecoder(REGISTRY).decode(payloads["unknown_100k"], "GW-A", NOW)
    assert decoded.tally.counts == {Reason.TOO_LARGE: 100_000} and len(decoded.rejections) == 1
    for name in ("deep_strict", "deep_lenient"):
        assert ReadingDecoder(REGISTRY).decode(payloads[name], "GW-B", NOW).tally.counts == {Reason.MALFORMED_JSON: 1}
    assert ReadingDecoder(REGISTRY).decode(b"x" * (2 * 2**20), "GW-B", NOW).tally.counts == {Reason.TOO_LARGE: 1}
