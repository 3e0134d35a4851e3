"""The ingest process of the crash tests: the service's own wiring (store, spool,
duplicate filter rebuilt from the store, detector state replayed), run until the
test kills it with SIGKILL, or stops it with SIGTERM to dump its detector state.

    python ingest_child.py --registry DIR --data-dir DIR --port N --client-id ID --dump FILE [--influx URL]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path

import numpy as np

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1] / "support")]

from ingest_testkit import default_thresholds, state_arrays

from app.ingest_wiring import open_history_store, open_spool, rebuild, seen_from
from app.site import HistorySettings, InfluxSettings, IngestSettings
from detectors.detector import Detector
from ingest.decode import ReadingDecoder
from ingest.subscriber import MqttIngestor
from lifesign.clock import WallClock
from lifesign.mqttclient import BrokerSettings
from lifesign.registry import Registry


class _DieAfterWrite:
    """A sink runs after the store write and before the ack: dying here is the worst moment."""

    def observe(self, batch: object) -> None:
        os._exit(9)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--registry", type=Path, required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--dump", type=Path, required=True)
    parser.add_argument("--die-after-first-write", action="store_true",
                        help="exit like kill -9 right after the first batch is durable, before its ack")
    parser.add_argument("--influx", default=None, help="VictoriaMetrics/InfluxDB URL instead of the embedded store")
    args = parser.parse_args()

    registry = Registry.load(args.registry / "households.csv", args.registry / "meters.csv")
    ids = [str(m) for m in registry.meter_ids]
    history = (HistorySettings(kind="influx", influx=InfluxSettings(args.influx, "", "", "lifesign"))
               if args.influx else HistorySettings())
    settings = IngestSettings(spool_max_mb=64)
    store = open_history_store(history, args.data_dir, ids)
    spool = open_spool(settings, args.data_dir, ids)
    clock = WallClock()
    detector = Detector(registry, default_thresholds())
    kept = rebuild(store, spool, clock.now() - 2 * 86400)
    detector.observe(kept)
    ingestor = MqttIngestor(
        BrokerSettings(port=args.port, client_id=args.client_id, keepalive_s=10),
        ReadingDecoder(registry), store, [detector, *([_DieAfterWrite()] if args.die_after_first_write else [])], clock,
        spool=spool, seen=seen_from(kept, registry, settings),
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    ingestor.start()
    if not ingestor.wait_subscribed(10):
        print("not subscribed", flush=True)
        return 1
    print(f"ready {len(kept)}", flush=True)
    counters = args.data_dir / f"counters-{os.getpid()}.json"
    def publish_counters() -> None:  # atomically: the test polls the file
        tmp = counters.with_suffix(".tmp")
        tmp.write_text(json.dumps(ingestor.counters.snapshot()))
        os.replace(tmp, counters)

    while not stop.wait(0.1):
        publish_counters()
    ingestor.stop()
    publish_counters()
    np.savez(args.dump, **state_arrays(detector))
    if spool is not None:
        spool.close()
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
