"""InfluxHistoryStore against a real VictoriaMetrics (Debian `victoria-metrics`).

The contract suite (test_history_store_contract.py) runs over this store too; here is what only a server store
has: ids in tags, buckets, chunked writes, the server refusing a payload, the
server down and back. Timestamps are recent: VictoriaMetrics drops points older
than its retention.
"""

from __future__ import annotations

import http.server
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import numpy as np
import orjson
import pytest
import urllib3
from brokers import free_port
from victoria import run_victoria_metrics

from ingest.historystores.influx import HistoryStoreUnavailable, InfluxHistoryStore, escape_tag
from lifesign.readings import ReadingBatch

T0 = float(int(time.time()) - 3 * 3600)  # recent: inside any retention
METERS = [f"w-{i:03d}" for i in range(60)]
UTILITIES = ["water" if i % 2 else "electricity" for i in range(60)]


def make_store(url: str, meter_ids: list[str] = METERS, **options: object) -> InfluxHistoryStore:
    return InfluxHistoryStore(
        url,
        "test-token",
        "lifesign",
        "site",
        meter_ids,
        **options,  # type: ignore[arg-type]
    )


@pytest.fixture
def store(victoria_url: str) -> Iterator[InfluxHistoryStore]:
    made = make_store(victoria_url, meter_utilities=UTILITIES)
    yield made
    made.close()


def as_points(batch: ReadingBatch) -> list[tuple[int, float, float]]:
    return list(zip(batch.meter.tolist(), batch.ts.tolist(), batch.value.tolist()))


def raw_samples(url: str) -> int:
    """Samples the server holds, duplicates included (straight from the export API)."""
    http = urllib3.PoolManager()
    http.request("GET", url + "/internal/force_flush")
    answer = http.request(
        "POST",
        url + "/api/v1/export",
        fields={"match[]": '{__name__="reading_value"}', "start": "0"},
        encode_multipart=False,
    )
    return sum(len(orjson.loads(line)["values"]) for line in answer.data.splitlines() if line)


# -- the contract's checks --------------------------------------------------------


def test_duplicate_writes_leave_one_point_per_meter_and_time(victoria_url: str) -> None:
    store = make_store(victoria_url)
    try:
        store.write(ReadingBatch.of([1, 1], [T0, T0 + 60], [5.0, 5.1]))
        assert store.count() == 2  # a read between writes: later series still show up
        # a redelivered message (same points plus one new) and duplicates inside one batch
        store.write(ReadingBatch.of([1, 1, 2], [T0, T0 + 60, T0], [5.0, 5.1, 1.0]))
        store.write(ReadingBatch.of([4, 4, 4], [T0, T0, T0], [2.0, 4.0, 3.0]))
        assert as_points(store.read()) == [
            (1, T0, 5.0),
            (1, T0 + 60, 5.1),
            (2, T0, 1.0),
            (4, T0, 4.0),  # largest value kept
        ]
        assert store.count() == 4
        # VictoriaMetrics (without -dedup.minScrapeInterval) really holds the duplicates:
        # the store, not the server, made the read one point per key.
        assert raw_samples(victoria_url) == 8
    finally:
        store.close()


def test_range_is_start_inclusive_end_exclusive_to_the_millisecond(
    store: InfluxHistoryStore,
) -> None:
    store.write(
        ReadingBatch.of(
            [1, 1, 1, 1, 2], [T0, T0 + 9.999, T0 + 10, T0 + 20, T0 + 10], [1, 2, 3, 4, 5]
        )
    )
    assert as_points(store.read(T0 + 10, T0 + 20)) == [(1, T0 + 10, 3.0), (2, T0 + 10, 5.0)]
    assert [p[1] for p in as_points(store.read(start=T0 + 9.999))] == [
        T0 + 9.999,
        T0 + 10,
        T0 + 20,
        T0 + 10,
    ]
    assert [p[1] for p in as_points(store.read(end=T0 + 10))] == [T0, T0 + 9.999]
    assert len(store.read(T0 + 30, T0 + 40)) == 0


def test_points_after_now_are_read_too(store: InfluxHistoryStore) -> None:
    # A gateway clock a little ahead (within ingest's skew tolerance): the export
    # API's default end is "now", which would hide these.
    ahead = float(int(time.time()) + 600)
    store.write(ReadingBatch.of([5], [ahead], [1.0]))
    assert as_points(store.read()) == [(5, ahead, 1.0)]


def test_a_reordered_registry_reads_each_reading_with_its_meter(victoria_url: str) -> None:
    first = make_store(victoria_url, meter_utilities=UTILITIES)
    first.write(ReadingBatch.of([0, 1, 59], [T0, T0, T0], [100.0, 101.0, 159.0]))
    first.close()
    permuted = list(np.random.default_rng(3).permutation(METERS))
    again = make_store(victoria_url, permuted)
    try:
        got = again.read()
        by_id = {permuted[m]: v for m, v in zip(got.meter.tolist(), got.value.tolist())}
        assert by_id == {"w-000": 100.0, "w-001": 101.0, "w-059": 159.0}
        assert np.array_equal(np.lexsort((got.ts, got.meter)), np.arange(len(got)))
    finally:
        again.close()


def test_meters_no_longer_in_the_registry_are_dropped(victoria_url: str) -> None:
    first = make_store(victoria_url, ["gone", "kept-a", "kept-b"])
    first.write(ReadingBatch.of([0, 1, 2, 0], [T0, T0, T0 + 1, T0 + 1], [1.0, 2.0, 3.0, 4.0]))
    first.close()
    later = make_store(victoria_url, ["kept-b", "new", "kept-a"])
    try:
        assert as_points(later.read()) == [(0, T0 + 1, 3.0), (2, T0, 2.0)]
        assert later.count() == 2
    finally:
        later.close()


def test_meter_ids_needing_escapes_round_trip(victoria_url: str) -> None:
    odd = ["m 1", "m,2", "m=3", "back\\slash", "trailing\\", "wasser-zähler", "w-000"]
    store = make_store(victoria_url, odd)
    try:
        store.write(
            ReadingBatch.of(range(len(odd)), [T0] * len(odd), [float(i) for i in range(len(odd))])
        )
        assert as_points(store.read()) == [(i, T0, float(i)) for i in range(len(odd))]
        # each odd id is its own series, not merged with a look-alike
        assert raw_samples(victoria_url) == len(odd)
    finally:
        store.close()


def test_ids_that_line_protocol_cannot_carry_are_refused(victoria_url: str) -> None:
    for bad in ["", "two\nlines", "tab\there"]:
        with pytest.raises(ValueError, match="cannot be a line-protocol tag"):
            make_store(victoria_url, [bad])
    assert escape_tag("a b,c=d\\e", "meter id") == "a\\ b\\,c\\=d\\\\e"


def test_buckets_sharing_one_server_stay_apart(victoria_url: str) -> None:
    site = make_store(victoria_url)
    other = InfluxHistoryStore(
        victoria_url, "", "", "other-site", METERS
    )  # no org: VictoriaMetrics
    try:
        site.write(ReadingBatch.of([1], [T0], [1.0]))
        other.write(ReadingBatch.of([1, 2], [T0, T0], [7.0, 8.0]))
        assert as_points(site.read()) == [(1, T0, 1.0)]
        assert as_points(other.read()) == [(1, T0, 7.0), (2, T0, 8.0)]
    finally:
        site.close()
        other.close()


# -- writing: chunks, exact values, refused input -----------------------------------


def test_a_batch_larger_than_a_chunk_lands_whole_with_exact_values(victoria_url: str) -> None:
    store = make_store(victoria_url, batch_points=7)
    rng = np.random.default_rng(11)
    n = 100
    meters = np.arange(n) % len(METERS)
    times = T0 + np.arange(n) * 0.001 + rng.integers(0, 3600, n)
    # Each meter its own magnitude, tiny to huge (exponents in the protocol), written as
    # decimals of 9 significant digits like a register in JSON: VictoriaMetrics keeps
    # about 12 significant digits, as decimals.
    values = np.array([float(f"{m:.9f}e{e}") for m, e in zip(rng.random(n), meters % 20 - 8)])
    try:
        store.write(ReadingBatch.of(meters, times, values))
        got = store.read()
        want = ReadingBatch.of(meters, times, values).sorted_by_meter_time()
        assert np.array_equal(got.meter, want.meter)
        assert np.array_equal(got.ts, np.rint(want.ts * 1000) / 1000)  # stored to the millisecond
        assert np.array_equal(got.value, want.value)  # every float bit-exact
    finally:
        store.close()


def test_nan_values_and_unknown_indices_are_refused_before_anything_is_sent(
    store: InfluxHistoryStore,
) -> None:
    with pytest.raises(ValueError, match=r"meter 'w-002' at ts=.* value=nan: expected finite"):
        store.write(ReadingBatch.of([1, 2], [T0, T0], [1.0, float("nan")]))
    with pytest.raises(ValueError, match=r"meter index 60, expected 0\.\.59"):
        store.write(ReadingBatch.of([1, 60], [T0, T0], [1.0, 2.0]))
    assert store.count() == 0  # the good reading of each batch was not half-written


def test_a_payload_the_server_refuses_raises_value_error_with_its_message(
    victoria_url: str,
) -> None:
    # VictoriaMetrics answers 400 to a line over -influx.maxLineSize (256 KiB).
    store = make_store(victoria_url, ["x" * 300_000])
    try:
        with pytest.raises(ValueError, match=r"HTTP 400: .*too long line") as refused:
            store.write(ReadingBatch.of([0], [T0], [1.0]))
        assert not isinstance(refused.value, OSError)
    finally:
        store.close()


# -- the server down and back -----------------------------------------------------------


def test_server_down_raises_os_error_and_writes_resume_when_it_is_back(tmp_path: Path) -> None:
    with run_victoria_metrics(free_port(), tmp_path / "vm") as server:
        store = make_store(server.url, timeout_s=2.0)
        try:
            store.write(ReadingBatch.of([1], [T0], [1.0]))
            server.stop()
            with pytest.raises(OSError, match="unreachable"):
                store.write(ReadingBatch.of([1], [T0 + 60], [2.0]))
            with pytest.raises(OSError, match="unreachable"):
                store.read()
            server.start()
            store.write(ReadingBatch.of([1], [T0 + 60], [2.0]))
            assert as_points(store.read()) == [(1, T0, 1.0), (1, T0 + 60, 2.0)]
        finally:
            store.close()


class _Answer(http.server.BaseHTTPRequestHandler):
    status = 503
    body = b"overloaded, try later"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(self.status)
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.parametrize("status", [503, 500, 429, 401])
def test_server_errors_that_may_pass_raise_os_error(status: int) -> None:
    handler = type("Handler", (_Answer,), {"status": status})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    store = make_store(f"http://127.0.0.1:{server.server_address[1]}", timeout_s=2.0)
    try:
        with pytest.raises(HistoryStoreUnavailable, match=f"HTTP {status}: overloaded"):
            store.write(ReadingBatch.of([1], [T0], [1.0]))
    finally:
        store.close()
        server.shutdown()
        server.server_close()


def test_a_server_that_never_answers_times_out_as_os_error() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # connections queue, nobody answers
        store = make_store(f"http://127.0.0.1:{silent.getsockname()[1]}", timeout_s=0.3)
        try:
            with pytest.raises(OSError, match="unreachable"):
                store.write(ReadingBatch.of([1], [T0], [1.0]))
        finally:
            store.close()


def test_constructor_rejects_bad_settings_naming_the_key() -> None:
    with pytest.raises(
        ValueError, match="history.influx.reader must be one of victoriametrics, flux, got 'sql'"
    ):
        InfluxHistoryStore("http://x", "", "o", "b", METERS, reader="sql")
    with pytest.raises(ValueError, match="history.influx.bucket must be set"):
        InfluxHistoryStore("http://x", "", "o", "", METERS)
    with pytest.raises(ValueError, match="meter_utilities has 1 entries, expected one per meter"):
        InfluxHistoryStore("http://x", "", "o", "b", METERS, ["water"])
    with pytest.raises(ValueError, match="history.influx.org must be set for reader flux"):
        InfluxHistoryStore("http://x", "", "", "b", METERS, reader="flux")
    with pytest.raises(ValueError, match="unique"):
        InfluxHistoryStore("http://x", "", "o", "b", ["a", "a"])


# -- reader "flux": InfluxDB 2.x is not available here --------------------------------
# Only the client side is checked: the query the store sends and how it reads the
# annotated CSV InfluxDB answers with (a recorded-format reply from a local HTTP server).

FLUX_REPLY = b"""#datatype,string,long,dateTime:RFC3339,double,string
#group,false,false,false,false,true
#default,_result,,,,
,result,table,_time,_value,meter
,,0,2026-11-21T06:00:01.5Z,2.5,w-001
,,0,2026-11-21T06:00:00Z,1.5,w-001
,,1,2026-11-21T06:00:00Z,7,w-002
,,2,2026-11-21T06:00:00Z,9,meter-no-longer-here

"""


class _FluxAnswer(http.server.BaseHTTPRequestHandler):
    requests: ClassVar[list[tuple[str, bytes]]]  # the test's own list, set per subclass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.requests.append((self.path, body))
        self.send_response(200)
        self.send_header("Content-Type", "text/csv; charset=utf-8")
        self.end_headers()
        self.wfile.write(FLUX_REPLY)

    def log_message(self, *args: object) -> None:
        pass


def test_flux_reader_queries_the_bucket_and_maps_meters_by_id() -> None:
    requests: list[tuple[str, bytes]] = []
    handler = type("Handler", (_FluxAnswer,), {"requests": requests})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    store = InfluxHistoryStore(url, "t", "lifesign", "site", ["w-002", "w-001"], reader="flux")
    try:
        got = store.read(start=0.0)
        base = 1_795_240_800.0  # 2026-11-21T06:00:00Z
        assert as_points(got) == [(0, base, 7.0), (1, base, 1.5), (1, base + 1.5, 2.5)]
        (path, body), *_ = requests
        request = orjson.loads(body)
        assert path.startswith("/api/v2/query?org=lifesign")
        assert "from(bucket: params.bucket)" in request["query"]
        assert b'"site"' in body and b'"reading"' in body  # bucket and measurement as params
    finally:
        store.close()
        server.shutdown()
        server.server_close()


def test_series_written_after_an_empty_read_of_the_same_days_are_read_back(victoria_url: str) -> None:
    # A standby reads the store at start, before anything is written (empty); its
    # successor must see the two days of readings written since, as a rebuild reads them.
    # VictoriaMetrics 1.79's cached series lookup hid such new series from the same
    # selector in about half of the trials (writes spread over a second, then a pause)
    # before every read got a selector of its own: eight trials, each on a site of its own.
    start = float(int(time.time()) // 900 * 900 - 42 * 3600)
    for trial in range(8):
        meters = [f"t{trial}-{i:02d}" for i in range(20)]
        first = InfluxHistoryStore(victoria_url, "", "", f"site{trial}", meters)
        assert len(first.read(start=time.time() - 48 * 3600)) == 0
        for r in range(30):  # a gateway's rounds arriving over a second
            first.write(ReadingBatch.of(list(range(20)), [start + r * 900.0] * 20, [1.0 + r] * 20))
            time.sleep(0.03)
        first.close()
        time.sleep(0.5)  # the lease's wait before the successor reads
        successor = InfluxHistoryStore(victoria_url, "", "", f"site{trial}", meters)
        try:
            assert len(successor.read(start=time.time() - 48 * 3600)) == 600, f"trial {trial}"
        finally:
            successor.close()
