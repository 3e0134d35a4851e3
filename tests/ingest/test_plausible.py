"""Implausible values (beyond a register, or more flow or power than a connection carries)
are rejected per reading with ``implausible_value``; the good readings beside them are kept."""

from __future__ import annotations

import json
from collections.abc import Iterator

import numpy as np
import orjson
import pytest
from ingest_testkit import NOW, MqttProbe, RecordingSink, eventually, make_registry

from ingest.decode import DecodePolicy, ReadingDecoder, Reason
from ingest.historystores.memory import MemoryHistoryStore
from ingest.plausible import MaxRates
from ingest.seen import SeenReadings
from ingest.subscriber import MqttIngestor
from lifesign.clock import ManualClock
from lifesign.mqttclient import BrokerSettings
from lifesign.readings import ReadingBatch
from lifesign.wire import readings_topic

REGISTRY = make_registry()
W1, E1, W2 = (REGISTRY.meter_index[m] for m in ("W-0001", "E-0001", "W-0002"))


def rates_seen(rates: MaxRates | None = None) -> SeenReadings:
    return SeenReadings(REGISTRY.n_meters, interval=REGISTRY.meter_interval,
                        max_per_s=(rates or MaxRates()).per_second(REGISTRY.meter_utility))


# -- the absolute bound, in the decoder ------------------------------------------------------
@pytest.mark.parametrize("columnar", [False, True], ids=["rows", "columnar"])
def test_values_no_register_shows_are_implausible_and_the_good_one_is_kept(columnar: bool) -> None:
    values = [12.5, 1e300, float("inf"), float("nan"), 10**400, 1e9 + 1, -1.0, "7"]
    meters = ["W-0001"] * len(values)
    times = [NOW - 60 - i for i in range(len(values))]
    doc = ({"meters": meters, "ts": times, "values": values} if columnar
           else {"readings": [{"meter": m, "ts": t, "value": v} for m, t, v in zip(meters, times, values)]})
    # more than 8 readings take the numpy path, fewer the scalar one: both must agree
    for payload in (json.dumps(doc).encode(), json.dumps({k: v[:3] if isinstance(v, list) else v
                                                           for k, v in doc.items()}).encode()):
        decoded = ReadingDecoder(REGISTRY).decode(payload, "GW-A", NOW)
        assert decoded.batch.value.tolist() == [12.5]
    decoded = ReadingDecoder(REGISTRY).decode(json.dumps(doc).encode(), "GW-A", NOW)
    assert [r.reason for r in decoded.rejections] == [Reason.IMPLAUSIBLE_VALUE] * 5 + [Reason.BAD_VALUE] * 2
    assert "at most 1e+09 (a register's maximum), got 1e+300" in decoded.rejections[0].detail


def test_the_register_maximum_is_a_setting() -> None:
    payload = orjson.dumps({"meters": ["W-0001", "W-0002"], "ts": NOW - 60, "values": [99_999.0, 100_001.0]})
    decoded = ReadingDecoder(REGISTRY, DecodePolicy(max_value=1e5)).decode(payload, "GW-A", NOW)
    assert decoded.batch.value.tolist() == [99_999.0]
    assert [r.reason for r in decoded.rejections] == [Reason.IMPLAUSIBLE_VALUE]


# -- the rate, against the meter's previous reading ------------------------------------------
def test_a_register_rising_faster_than_the_connection_carries_is_implausible() -> None:
    seen = rates_seen()
    seen.commit(ReadingBatch.of([W1, E1], [NOW - 7200, NOW - 7200], [100.0, 5000.0]))
    batch = ReadingBatch.of(
        [W1, W1, E1, E1, W2],
        # W1: +2 m³ in an hour (fine), then +50 m³ in the next (not); E1: 90 kW (fine), then 150 kW;
        # W2: no previous reading, so only the absolute bound applies
        [NOW - 3600, NOW, NOW - 3600, NOW, NOW],
        [102.0, 152.0, 5090.0, 5240.0, 9e8],
    )
    sorted_ = seen.sort(batch)
    assert sorted(zip(sorted_.new.meter.tolist(), sorted_.new.value.tolist())) == [
        (W1, 102.0), (E1, 5090.0), (W2, 9e8)]
    assert sorted(zip(sorted_.implausible.meter.tolist(), sorted_.implausible.value.tolist())) == [
        (W1, 152.0), (E1, 5240.0)]
    per_hour = dict(zip(sorted_.implausible.meter.tolist(), (sorted_.implausible_rate * 3600).tolist()))
    assert per_hour == pytest.approx({W1: 50.0, E1: 150.0})
    assert (sorted_.duplicates, len(sorted_.resets)) == (0, 0)


def test_a_spike_is_dropped_and_the_reading_after_it_is_not_a_reset() -> None:
    seen = rates_seen()
    seen.commit(ReadingBatch.of([W1], [NOW - 900], [100.0]))
    sorted_ = seen.sort(ReadingBatch.of([W1, W1], [NOW - 600, NOW - 300], [900.0, 100.1]))
    assert sorted_.implausible.value.tolist() == [900.0]
    assert sorted_.new.value.tolist() == [100.1] and len(sorted_.resets) == 0


def test_an_interval_meter_is_judged_on_its_usage_over_the_interval() -> None:
    interval = np.zeros(REGISTRY.n_meters, dtype=bool)
    interval[W1] = True  # W-0001 reports its usage per interval (registry `reading: interval`)
    seen = SeenReadings(REGISTRY.n_meters, interval=interval,
                        max_per_s=MaxRates().per_second(REGISTRY.meter_utility))
    seen.commit(ReadingBatch.of([W1], [NOW - 1800], [0.01]))
    # 0.5 m³ in 15 min = 2 m³/h (a shower and a tap); 5 m³ in 15 min = 20 m³/h
    sorted_ = seen.sort(ReadingBatch.of([W1, W1], [NOW - 900, NOW], [0.5, 5.0]))
    assert sorted_.new.value.tolist() == [0.5]
    assert sorted_.implausible.value.tolist() == [5.0]
    assert sorted_.implausible_rate[0] * 3600 == pytest.approx(20.0)


def test_readings_seconds_apart_are_judged_over_a_minute_and_the_limits_are_settings() -> None:
    seen = rates_seen(rates=MaxRates(water_m3_per_h=3.0))
    seen.commit(ReadingBatch.of([W1], [NOW - 61], [100.0]))
    # one 10 L step a second later would be 36 m³/h; over the one-minute floor it is 0.6 m³/h
    assert len(seen.sort(ReadingBatch.of([W1], [NOW - 60], [100.01])).implausible) == 0
    # 4 m³/h is fine for the default 10 m³/h, not for a site that set 3
    assert len(seen.sort(ReadingBatch.of([W1], [NOW + 3539], [104.0])).implausible) == 1
    assert len(rates_seen().sort(ReadingBatch.of([W1, W1], [NOW, NOW + 3600], [100.0, 104.0])).implausible) == 0


def test_without_rates_nothing_is_judged() -> None:
    seen = SeenReadings(REGISTRY.n_meters)
    seen.commit(ReadingBatch.of([W1], [NOW - 60], [0.0]))
    assert len(seen.sort(ReadingBatch.of([W1], [NOW], [1e6])).new) == 1
    assert np.isnan(rates_seen().max_per_s).sum() == 0


# -- through a real mosquitto -----------------------------------------------------------------
@pytest.fixture
def probes(mosquitto_broker: BrokerSettings) -> Iterator[tuple[MqttProbe, MqttProbe]]:
    gateway = MqttProbe(mosquitto_broker.port, "gateway-probe")
    letters = MqttProbe(mosquitto_broker.port, "dead-letter-probe", subscribe="lifesign/v1/_rejected/#")
    yield gateway, letters
    gateway.close()
    letters.close()


@pytest.mark.mosquitto
def test_only_the_plausible_reading_of_a_message_is_stored(
    mosquitto_broker: BrokerSettings, probes: tuple[MqttProbe, MqttProbe]
) -> None:
    gateway, letters = probes
    store, sink = MemoryHistoryStore(), RecordingSink()
    ingestor = MqttIngestor(mosquitto_broker, ReadingDecoder(REGISTRY), store, [sink], ManualClock(NOW))
    ingestor.start()
    try:
        assert ingestor.wait_subscribed(60)
        gateway.publish(readings_topic("GW-A"), orjson.dumps({"meter": "W-0002", "ts": NOW - 3660, "value": 10.0}))
        eventually(lambda: ingestor.counters.messages_acked == 1, "the earlier reading acked")
        # Python's json writes Infinity bare, as a careless gateway would
        mixed = json.dumps({"readings": [
            {"meter": "W-0001", "ts": NOW - 60, "value": 1.5},      # good
            {"meter": "E-0001", "ts": NOW - 60, "value": 1e300},    # beyond any register
            {"meter": "E-0001", "ts": NOW - 120, "value": float("inf")},
            {"meter": "W-0002", "ts": NOW - 60, "value": 60.0},     # +50 m³ of water in an hour
        ]}).encode()
        gateway.publish(readings_topic("GW-A"), mixed)
        eventually(lambda: ingestor.counters.messages_acked == 2, "the mixed message acked")
        # one report for the message (two values beyond any register), one for the
        # reading refused against its meter's previous one
        eventually(lambda: len(letters.messages()) == 2, "two dead-letter reports")
        assert ingestor.wait_idle(60)

        stored = store.read()
        assert sorted(zip(stored.meter.tolist(), stored.ts.tolist(), stored.value.tolist())) == [
            (W1, NOW - 60, 1.5), (W2, NOW - 3660, 10.0)]
        assert sorted(sink.points()) == sorted(zip(stored.meter.tolist(), stored.ts.tolist(), stored.value.tolist()))
        docs = [orjson.loads(body) for _, body in letters.messages()]
        assert {(d["gateway"], d["reason"]) for d in docs} == {("GW-A", Reason.IMPLAUSIBLE_VALUE)}
        assert sorted(d["rejected"] for d in docs) == [1, 2]
        rate_letter = next(d for d in docs if d["samples"][0]["item"]["meter"] == "W-0002")["samples"][0]
        assert rate_letter["item"] == {"meter": "W-0002", "ts": NOW - 60, "value": 60.0}
        assert rate_letter["detail"] == ("value 60 implies 50 m³/h of water since the meter's previous reading, "
                                         "above the maximum 10 m³/h")
        counts = ingestor.counters.snapshot()
        assert {k: counts[k] for k in ("messages_received", "readings_received", "readings_stored", "duplicates",
                                       "late", "rejected")} == {
            "messages_received": 2, "readings_received": 3, "readings_stored": 2, "duplicates": 0, "late": 0,
            "rejected": {"implausible_value": 3},
        }
    finally:
        ingestor.stop()
