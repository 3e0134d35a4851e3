"""The wire decoder feeding a real history store, without a broker."""

from __future__ import annotations

from pathlib import Path

import orjson
from ingest_testkit import NOW

from ingest.decode import ReadingDecoder, Reason
from ingest.historystores.segments import SegmentHistoryStore
from lifesign.readings import ReadingBatch
from lifesign.registry import Registry
from lifesign.wire import encode_columnar


def test_three_payload_shapes_land_in_the_store_with_registry_indexes(
    registry: Registry, tmp_path: Path
) -> None:
    decoder = ReadingDecoder(registry)
    store = SegmentHistoryStore(tmp_path / "history", list(registry.meter_ids))
    try:
        payloads = [
            orjson.dumps({"meter": "W-0001", "ts": NOW - 900, "value": 12.5}),
            orjson.dumps(
                {
                    "readings": [
                        {
                            "meter": "E-0001",
                            "ts": (NOW - 900) * 1000,
                            "value": 873.25,
                        },  # epoch milliseconds
                        {
                            "meter": "W-0002",
                            "ts": "2025-11-21T04:25:00+00:00",
                            "value": 3.0,
                        },  # RFC 3339
                    ]
                }
            ),
            encode_columnar(["W-0001", "W-0002"], NOW - 300, [12.75, 3.5]),
        ]
        batch = ReadingBatch.concat(decoder.decode(p, "GW-A", NOW).batch for p in payloads)
        store.write(batch)
        assert store.count() == 5
        w1, e1, w2 = (registry.meter_index[m] for m in ("W-0001", "E-0001", "W-0002"))
        points = list(
            zip(
                *(col.tolist() for col in (store.read().meter, store.read().ts, store.read().value))
            )
        )
        assert points == sorted(
            [
                (w1, NOW - 900, 12.5),
                (w1, NOW - 300, 12.75),
                (e1, NOW - 900, 873.25),
                (w2, 1763699100.0, 3.0),
                (w2, NOW - 300, 3.5),
            ]
        )
    finally:
        store.close()


def test_bad_readings_are_rejected_and_good_ones_of_the_same_message_kept(
    registry: Registry, tmp_path: Path
) -> None:
    decoder = ReadingDecoder(registry)
    store = SegmentHistoryStore(tmp_path / "history", list(registry.meter_ids))
    try:
        payload = orjson.dumps(
            {
                "readings": [
                    {"meter": "W-0001", "ts": NOW - 60, "value": 1.0},
                    {"meter": "X-9999", "ts": NOW - 60, "value": 1.0},
                    {"meter": "W-0003", "ts": NOW - 60, "value": 1.0},  # bound to GW-B
                    {"meter": "W-0002", "ts": NOW - 60, "value": "NaN"},
                    {"meter": "W-0002", "ts": NOW - 60, "value": -0.5},
                    {"meter": "E-0001", "ts": NOW + 3600, "value": 1.0},
                    {"meter": "E-0001", "ts": "yesterday", "value": 1.0},
                ]
            }
        )
        decoded = decoder.decode(payload, "GW-A", NOW)
        assert [r.reason for r in decoded.rejections] == [
            Reason.UNKNOWN_METER,
            Reason.WRONG_GATEWAY,
            Reason.BAD_VALUE,
            Reason.BAD_VALUE,
            Reason.FUTURE_TIMESTAMP,
            Reason.BAD_TIMESTAMP,
        ]
        store.write(decoded.batch)
        assert store.read().meter.tolist() == [registry.meter_index["W-0001"]]
        garbage = decoder.decode(b'{"meter": "W-0001", ', "GW-A", NOW)
        assert [r.reason for r in garbage.rejections] == [Reason.MALFORMED_JSON]
        store.write(garbage.batch)
        assert len(garbage.batch) == 0 and store.count() == 1
    finally:
        store.close()


def test_a_resent_payload_leaves_one_point_per_meter_and_time(
    registry: Registry, tmp_path: Path
) -> None:
    decoder = ReadingDecoder(registry)
    store = SegmentHistoryStore(tmp_path / "history", list(registry.meter_ids))
    try:
        payload = encode_columnar(["W-0003"], NOW - 60, [4.0])
        store.write(decoder.decode(payload, "GW-B", NOW).batch)
        store.write(decoder.decode(payload, "GW-B", NOW).batch)
        assert store.count() == 1
    finally:
        store.close()
