"""The fast pass over a batch of small messages takes exactly what the decoder takes.

The reference is the decoder itself, message by message, as ingest decoded before the
fast pass existed: for any batch, decoding it with the fast pass must give the same
readings (same meters, times and values, bit for bit, in arrival order) and the same
refusals per message. Hypothesis builds batches around the fast pass's edges: the two
small shapes, every kind of odd field, the limits of the time window and of the value,
epoch milliseconds, and the shapes the fast pass leaves to the decoder.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ingest_testkit import NOW, make_registry

from ingest.decode import ReadingDecoder
from ingest.deliveries import decode_messages
from ingest.fastpath import MAX_FAST_READINGS, FastPass
from ingest.rejections import RejectionTally
from lifesign.readings import ReadingBatch
from lifesign.wire import gateway_of, readings_topic

REGISTRY = make_registry()
DECODER = ReadingDecoder(REGISTRY)
POLICY = DECODER.policy
METERS_OF = {"GW-A": ["W-0001", "E-0001", "W-0002"], "GW-B": ["W-0003"], "GW-NEW": ["W-0001"]}
TOPICS = {**{readings_topic(g): g for g in METERS_OF}, "lifesign/v1/other/GW-A": "GW-A",
          readings_topic("GW-A") + "/x": "GW-A"}

#: a field is mostly good, so that messages with one fault in one field are common
odd_meters = st.sampled_from(["X-9999", "", "W-0003", "w-0001"]) | st.one_of(
    st.none(), st.integers(-3, 3), st.lists(st.integers(), max_size=2))
odd_values = st.sampled_from([-0.0, POLICY.max_value, math.nextafter(POLICY.max_value, math.inf), -1e-9, -1,
                              math.nan, math.inf, -math.inf, 10**400, 2**70, True, False, None, "12.5", {"v": 1}])


def odd_times(now: float) -> st.SearchStrategy[Any]:
    """Times at and around every edge the checks have, and things that are not times."""
    oldest, newest = now - POLICY.max_past_s, now + POLICY.max_future_s
    return st.sampled_from([
        oldest, newest, oldest - 0.001, newest + 0.001, math.nextafter(oldest, 0), math.nextafter(newest, math.inf),
        int(oldest), int(newest), now * 1000.0, now * 1000, 1e11, 1e11 + 1, 1e11 - 1, 0, -5, 0.0, -0.0, 1,
        math.nan, math.inf, -math.inf, 10**400, 2**70, True, False, None, "1763700000", "2025-11-21T04:39:00+00:00",
        [now]])


@st.composite
def reading(draw: st.DrawFn, gateway: str, now: float) -> tuple[Any, Any, Any]:
    good = draw(st.sampled_from(METERS_OF[gateway]))
    meter = draw(st.sampled_from([good] * 3) | odd_meters) if draw(st.booleans()) else good
    ts = draw(st.one_of(st.floats(now - 86400, now), st.integers(int(now) - 86400, int(now)), odd_times(now))) \
        if draw(st.booleans()) else now - 60
    value = draw(st.one_of(st.floats(0, 1e6), st.integers(0, 10**6), odd_values)) if draw(st.booleans()) else 12.5
    return meter, ts, value


@st.composite
def message(draw: st.DrawFn, now: float) -> tuple[str, bytes]:
    topic = draw(st.sampled_from([readings_topic("GW-A")] * 4 + [readings_topic("GW-B")] * 2 + sorted(TOPICS)))
    gateway = TOPICS[topic]
    kind = draw(st.sampled_from(["single", "single", "columnar", "columnar", "columnar_ts_list", "rows", "other"]))
    if kind == "single":
        meter, ts, value = draw(reading(gateway, now))
        doc: Any = {"meter": meter, "ts": ts, "value": value}
        for key in draw(st.sets(st.sampled_from(["meter", "ts", "value"]), max_size=1)):
            del doc[key]  # a field missing
    elif kind in ("columnar", "columnar_ts_list"):
        items = draw(st.lists(reading(gateway, now), max_size=MAX_FAST_READINGS + 2))
        column, times, vals = [m for m, _, _ in items], [t for _, t, _ in items], [v for _, _, v in items]
        extra = draw(st.sampled_from([0, 0, 0, 0, 1]))
        doc = {"meters": column, "ts": times + [now] * extra if kind == "columnar_ts_list" else
               (times[0] if times else now), "values": vals + [1.0] * draw(st.sampled_from([0, 0, 0, 0, 1]))}
        if draw(st.booleans()):
            doc["meter"] = "W-0001"  # "meters" wins
    elif kind == "rows":
        meter, ts, value = draw(reading(gateway, now))
        doc = {"readings": [{"meter": meter, "ts": ts, "value": value}]}
        if draw(st.booleans()):
            doc.update(meter="W-0001", ts=now - 60, value=1.0)  # "readings" wins over "meter"
    else:
        return topic, draw(st.sampled_from([
            b"", b"not json", b"[1, 2]", b"12", b'"W-0001"', b'{"meter": "W-0001", ', b"[" * 3000, b"\xff\xfe",
            b'{"meter": "W-0001", "ts": 1763699000, "value": NaN}', b'{"meters": "W-0001", "ts": 1, "values": [1]}']))
    # json (not orjson): it writes NaN, Infinity and huge ints as careless gateways do
    return topic, json.dumps(doc).encode()


@st.composite
def batches(draw: st.DrawFn) -> tuple[float, list[tuple[str, bytes]]]:
    now = draw(st.sampled_from([NOW, 1000.0]))  # near 0 the time window takes in negative times
    return now, draw(st.lists(message(now), max_size=40))


class _NoFastPass(FastPass):
    """Passes nothing: every message goes to the decoder alone, as before the fast pass."""

    def split(self, topics: Any, payloads: Any, now: float) -> tuple[ReadingBatch, np.ndarray, np.ndarray]:
        return ReadingBatch.empty(), np.empty(0, dtype=np.intp), np.zeros(len(payloads), dtype=bool)


def rows(batch: ReadingBatch) -> list[tuple[int, bytes, bytes]]:
    """Readings compared bit for bit (0.0 and -0.0 differ)."""
    return [(int(m), t.tobytes(), v.tobytes()) for m, t, v in zip(batch.meter, batch.ts, batch.value)]


def refusals(found: list[tuple[str, str, RejectionTally]]) -> list[tuple[str, str, dict[str, int], list[Any]]]:
    return [(gateway, topic, dict(tally.counts), [(r.reason, r.detail) for r in tally.samples])
            for gateway, topic, tally in found]


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches())
def test_a_batch_through_the_fast_pass_gives_what_the_decoder_gives_message_by_message(
        drawn: tuple[float, list[tuple[str, bytes]]]) -> None:
    now, batch = drawn
    topic_list, payloads = [t for t, _ in batch], [p for _, p in batch]
    # the fast pass alone: a message it passes, the decoder takes whole, with the same readings
    readings, owner, passed = FastPass(DECODER).split(topic_list, payloads, now)
    assert set(owner.tolist()) <= set(np.flatnonzero(passed).tolist())
    for j in np.flatnonzero(passed).tolist():
        gateway = gateway_of(topic_list[j])
        assert gateway is not None
        decoded = DECODER.decode(payloads[j], gateway, now)
        assert not decoded.tally.counts, (payloads[j], decoded.rejections)
        assert rows(readings.take(owner == j)) == rows(decoded.batch), payloads[j]
    # the whole batch: the same readings in arrival order and the same refusals as message by message
    got, refused = decode_messages(FastPass(DECODER), topic_list, payloads, now)
    want, want_refused = decode_messages(_NoFastPass(DECODER), topic_list, payloads, now)
    assert rows(got) == rows(want)
    assert refusals(refused) == refusals(want_refused)


def test_one_reading_messages_of_both_shapes_pass_whole_and_a_bad_one_goes_to_the_decoder() -> None:
    gw_a = readings_topic("GW-A")
    payloads = [
        orjson.dumps({"meter": "W-0001", "ts": NOW - 60, "value": 1.5}),
        orjson.dumps({"meters": ["E-0001"], "ts": (NOW - 60) * 1000, "values": [873]}),  # epoch ms, an int value
        orjson.dumps({"meter": "W-0003", "ts": NOW - 60, "value": 2.0}),  # GW-B's meter on GW-A's topic
        orjson.dumps({"meters": ["W-0002", "W-0001"], "ts": [NOW - 30, NOW - 20], "values": [3.0, 1.6]}),
    ]
    readings, owner, passed = FastPass(DECODER).split([gw_a] * 4, payloads, NOW)
    assert passed.tolist() == [True, True, False, True]
    assert owner.tolist() == [0, 1, 3, 3]
    index = REGISTRY.meter_index
    assert readings.meter.tolist() == [index["W-0001"], index["E-0001"], index["W-0002"], index["W-0001"]]
    assert readings.ts.tolist() == [NOW - 60, NOW - 60, NOW - 30, NOW - 20]
    assert readings.value.tolist() == [1.5, 873.0, 3.0, 1.6]
    batch, refused = decode_messages(FastPass(DECODER), [gw_a] * 4, payloads, NOW)
    assert len(batch) == 4
    assert [(g, dict(t.counts)) for g, _, t in refused] == [("GW-A", {"wrong_gateway": 1})]


def test_readings_on_the_edges_of_the_checks_pass_whole() -> None:
    """The fast pass refuses nothing the decoder takes at the limits (a message it refused
    would only cost the decoder's time, so this is about speed, not what is stored)."""
    oldest, newest, top = NOW - POLICY.max_past_s, NOW + POLICY.max_future_s, POLICY.max_value
    cases = [(oldest, 0.0), (newest, top), (int(newest), 0), (newest * 1000.0, 7), (int(oldest) + 1, top)]
    payloads = [orjson.dumps({"meter": "W-0002", "ts": ts, "value": value}) for ts, value in cases]
    payloads += [orjson.dumps({"meters": ["W-0002"], "ts": ts, "values": [value]}) for ts, value in cases]
    readings, _, passed = FastPass(DECODER).split([readings_topic("GW-A")] * len(payloads), payloads, NOW)
    assert passed.all()
    assert readings.ts.tolist() == [oldest, newest, float(int(newest)), newest, float(int(oldest) + 1)] * 2
    assert readings.value.tolist() == [0.0, top, 0.0, 7.0, top] * 2


def test_a_fast_pass_that_fails_leaves_every_message_to_the_decoder() -> None:
    class Broken(FastPass):
        def split(self, topics: Any, payloads: Any, now: float) -> tuple[ReadingBatch, np.ndarray, np.ndarray]:
            raise IndexError("a bug in the fast pass")

    gw_a = readings_topic("GW-A")
    payloads = [orjson.dumps({"meter": "W-0001", "ts": NOW - 60, "value": 1.5}), b"not json"]
    batch, refused = decode_messages(Broken(DECODER), [gw_a, gw_a], payloads, NOW)
    assert batch.value.tolist() == [1.5]
    assert [(g, dict(t.counts)) for g, _, t in refused] == [("GW-A", {"malformed_json": 1})]
