"""Write throughput into a real VictoriaMetrics through the InfluxDB v2 write API.

Compares, in one run against one server, influxdb-client's ``Point`` objects (the
baseline DESIGN.md measured), one joined line-protocol string per chunk through
``WriteApi`` (gzip level 9, its only level) and ``InfluxHistoryStore.write``
(joined line protocol, gzip level 1 or off). Also: read-back speed through the
export API.

    .venv/bin/python benchmarks/store_influx.py            # starts its own VictoriaMetrics
    .venv/bin/python benchmarks/store_influx.py --url http://127.0.0.1:8428

The server shares this machine's cores with the client: numbers are end to end.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import numpy as np
from influxdb_client import InfluxDBClient, Point, WritePrecision
from influxdb_client.client.write_api import SYNCHRONOUS

from ingest.historystores.influx import InfluxHistoryStore
from lifesign.readings import ReadingBatch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "support"))


def workload(points: int, meters: int, start: float, seed: int = 1) -> ReadingBatch:
    """Seeded readings of ``meters`` meters, 15 min apart, registers with 3 decimals."""
    rng = np.random.default_rng(seed)
    meter = np.arange(points, dtype=np.int32) % meters
    ts = start + (np.arange(points) // meters) * 900.0 + rng.integers(0, 60_000, points) / 1000
    value = np.round(rng.random(points) * 1e5, 3)
    return ReadingBatch.of(meter, ts, value)


def timed(points: int, run: Callable[[], object]) -> float:
    began = time.perf_counter()
    run()
    return points / (time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="an existing server (default: start one)")
    parser.add_argument("--points", type=int, default=200_000)
    parser.add_argument("--meters", type=int, default=10_000)
    parser.add_argument("--chunk", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs per path; the best is shown")
    args = parser.parse_args()
    n, chunk = args.points, args.chunk
    meter_ids = [f"W{i:06d}" for i in range(args.meters)]
    utilities = ["water"] * args.meters

    with ExitStack() as stack:
        url = args.url
        if url is None:
            from brokers import free_port
            from victoria import run_victoria_metrics

            folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            url = stack.enter_context(run_victoria_metrics(free_port(), folder / "vm")).url
        bucket = f"bench-{int(time.time())}"
        store = InfluxHistoryStore(
            url, "", "lifesign", bucket, meter_ids, utilities, batch_points=chunk
        )
        plain = InfluxHistoryStore(
            url, "", "lifesign", bucket, meter_ids, utilities, batch_points=chunk, gzip_level=0
        )
        now = float(int(time.time()))
        # Create every series first: new series cost far more than new samples.
        store.write(
            ReadingBatch.of(
                np.arange(args.meters), [now - 86400.0] * args.meters, [0.0] * args.meters
            )
        )

        def slices(batch: ReadingBatch) -> list[ReadingBatch]:
            return [batch.take(np.arange(lo, min(lo + chunk, n))) for lo in range(0, n, chunk)]

        rows: list[tuple[str, float]] = []
        client = InfluxDBClient(url=url, token="", org="lifesign", enable_gzip=True, retries=False)
        client_plain = InfluxDBClient(url=url, token="", org="lifesign", retries=False)
        write_gz = client.write_api(write_options=SYNCHRONOUS)
        write_plain = client_plain.write_api(write_options=SYNCHRONOUS)

        def points_run(batch: ReadingBatch) -> Callable[[], None]:
            def run() -> None:
                for part in slices(batch):
                    record = [
                        Point("reading")
                        .tag("db", bucket)
                        .tag("meter", meter_ids[m])
                        .tag("utility", "water")
                        .field("value", v)
                        .time(round(t * 1000), WritePrecision.MS)
                        for m, t, v in zip(
                            part.meter.tolist(), part.ts.tolist(), part.value.tolist()
                        )
                    ]
                    write_gz.write(
                        bucket,
                        record=record,
                        write_precision=WritePrecision.MS,  # type: ignore[arg-type]
                    )

            return run

        def joined_run(batch: ReadingBatch, api: object) -> Callable[[], None]:
            def run() -> None:
                for part in slices(batch):
                    ts_ms = np.rint(part.ts * 1000).astype(np.int64)
                    lines = store.line_protocol(part.meter, ts_ms, part.value)
                    api.write(  # type: ignore[attr-defined]
                        bucket, record=lines, write_precision=WritePrecision.MS
                    )

            return run

        def build_only(batch: ReadingBatch) -> Callable[[], None]:
            def run() -> None:
                for part in slices(batch):
                    store.line_protocol(
                        part.meter, np.rint(part.ts * 1000).astype(np.int64), part.value
                    )

            return run

        batches = 0

        def fresh() -> ReadingBatch:
            nonlocal batches  # each batch its own 6 hours: none rewrites another's points
            batches += 1
            return workload(n, args.meters, now - 7 * 86400.0 + batches * 6 * 3600.0, seed=batches)

        paths: list[tuple[str, Callable[[ReadingBatch], Callable[[], object]]]] = [
            ("line protocol built, not sent (ceiling)", build_only),
            ("Point objects, WriteApi, gzip 9 (baseline)", points_run),
            ("joined line protocol, WriteApi, gzip 9", lambda b: joined_run(b, write_gz)),
            ("joined line protocol, WriteApi, no gzip", lambda b: joined_run(b, write_plain)),
            ("InfluxHistoryStore.write, gzip 1 (default)", lambda b: lambda: store.write(b)),
            ("InfluxHistoryStore.write, gzip off", lambda b: lambda: plain.write(b)),
        ]
        for name, path in paths:  # best of --repeat: other work on the machine only slows runs
            rows.append((name, max(timed(n, path(fresh())) for _ in range(args.repeat))))
        expected = (len(paths) - 1) * args.repeat * n + args.meters  # plus the warm-up points
        first_read = total = len(store.read())
        waited = time.monotonic()
        while total != expected and time.monotonic() - waited < 10:
            total = len(store.read())
        if total != expected:
            raise SystemExit(f"read back {total:,} points, expected {expected:,}: writes lost")
        rows.append(
            (f"InfluxHistoryStore.read, {total:,} points", timed(total, lambda: store.read()))
        )
        client.close()
        client_plain.close()
        store.close()
        plain.close()

    baseline = rows[1][1]
    print(
        f"\n{n:,} readings of {args.meters:,} meters, {chunk:,} per request, "
        f"best of {args.repeat}, server {url}\n"
    )
    print(f"{'path':48s} {'points/s':>12s} {'vs Point':>9s}")
    print("-" * 71)
    for name, rate in rows:
        print(f"{name:48s} {rate:>12,.0f} {rate / baseline:>8.1f}x")
    print(
        f"\nfirst read after the writes: {first_read:,} of {expected:,} points "
        "(VictoriaMetrics' force_flush can leave the end of a burst hidden for ~1 s)"
    )


if __name__ == "__main__":
    main()
