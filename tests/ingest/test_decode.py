"""Edge decoding keeps the good readings of a message and names why the rest were refused."""

from __future__ import annotations

from ingest.decode import ReadingDecoder, Reason
from lifesign.grid import Address, Household, Meter, Resident, Tier, Utility
from lifesign.registry import Registry

NOW = 1_763_700_000.0


def decoder() -> ReadingDecoder:
    home = Household("H1", Address("C1", "G1", "B1", "1", "101"), Resident("R", 80, "p", "e"), Tier.RED)
    meters = [Meter("W1", "H1", Utility.WATER, "GW1"), Meter("E1", "H1", Utility.ELECTRICITY, "GW1")]
    return ReadingDecoder(Registry.from_records([home], meters))


def test_a_bare_nan_rejects_that_reading_only() -> None:
    # Python's json.dumps writes NaN unquoted; strict JSON parsers refuse the whole message.
    payload = b'{"meters": ["W1", "E1"], "ts": 1763700000, "values": [NaN, 873.2]}'
    decoded = decoder().decode(payload, "GW1", NOW)
    assert decoded.batch.value.tolist() == [873.2]
    assert [r.reason for r in decoded.rejections] == [Reason.IMPLAUSIBLE_VALUE]  # not finite: no register shows it


def test_a_reset_gateway_clock_is_rejected_not_taken_as_decades_of_silence() -> None:
    payload = b'{"readings": [{"meter": "W1", "ts": 946684800, "value": 1.0}, {"meter": "E1", "ts": 1763699100, "value": 2.0}]}'
    decoded = decoder().decode(payload, "GW1", NOW)
    assert decoded.batch.ts.tolist() == [1763699100.0]
    assert [r.reason for r in decoded.rejections] == [Reason.BAD_TIMESTAMP]
    assert "days behind the clock" in decoded.rejections[0].detail


def test_garbage_that_is_not_json_at_all_is_one_rejection() -> None:
    decoded = decoder().decode(b"\xff\x00not json", "GW1", NOW)
    assert len(decoded.batch) == 0
    assert [r.reason for r in decoded.rejections] == [Reason.MALFORMED_JSON]


def test_a_batch_of_fast_small_and_large_messages_keeps_arrival_order() -> None:
    import orjson

    from ingest.deliveries import decode_messages
    from ingest.fastpath import FastPass
    from lifesign.wire import readings_topic

    meters = [Meter(f"W{i:02d}", "H1", Utility.WATER, "GW") for i in range(20)]
    registry = Registry.from_records([Household("H1", Address("C", "G", "B", "U", "1"), Resident("R", 80, "1", "2"),
                                                 Tier.RED)], meters)
    now = 1_763_700_000.0
    small = orjson.dumps({"meter": "W00", "ts": now - 30, "value": 1.0})  # the fast pass
    rfc3339 = b'{"meter": "W02", "ts": "2025-11-21T04:39:00+00:00", "value": 3.0}'  # the decoder, small
    large = orjson.dumps({"meters": [m.meter_id for m in meters], "ts": now - 20, "values": [2.0] * 20})  # numpy
    payloads = (small, large, rfc3339, small.replace(b"W00", b"W01"))
    batch, refused = decode_messages(FastPass(ReadingDecoder(registry)), [readings_topic("GW")] * 4, list(payloads), now)
    assert refused == []
    assert batch.meter.tolist() == [0, *range(20), 2, 1]
    assert batch.ts.tolist() == [now - 30] + [now - 20] * 20 + [now - 60, now - 30]  # 04:39 UTC is now - 60


def test_a_gateway_not_in_the_registry_is_unknown_gateway_not_wrong_gateway() -> None:
    for payload in (b'{"meter": "W1", "ts": 1763700000, "value": 1.0}',  # the scalar path
                    b'{"meters": ["W1", "E1"], "ts": 1763700000, "values": [1.0, 2.0]}'):  # the columnar path
        decoded = decoder().decode(payload, "GW-NEW", NOW)
        assert len(decoded.batch) == 0
        assert {r.reason for r in decoded.rejections} == {Reason.UNKNOWN_GATEWAY}
        assert "gateway 'GW-NEW' is not in the registry" in decoded.rejections[0].detail


def test_a_registered_meter_on_another_registered_gateway_is_wrong_gateway_and_names_its_own() -> None:
    home = Household("H1", Address("C1", "G1", "B1", "1", "101"), Resident("R", 80, "p", "e"), Tier.RED)
    meters = [Meter("W1", "H1", Utility.WATER, "GW1"), Meter("E1", "H1", Utility.ELECTRICITY, "GW2")]
    decoded = ReadingDecoder(Registry.from_records([home], meters)).decode(
        b'{"meter": "W1", "ts": 1763700000, "value": 1.0}', "GW2", NOW)
    assert [r.reason for r in decoded.rejections] == [Reason.WRONG_GATEWAY]
    assert decoded.rejections[0].detail == "meter 'W1' is bound to gateway 'GW1', not this one"
