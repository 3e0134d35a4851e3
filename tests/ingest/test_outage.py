"""A broker restart and a history-store outage in the middle of a gateway stream lose
nothing: ingest spools to disk while VictoriaMetrics is down (and keeps acking, the spool
being as durable as the store), then drains the spool when it is back."""

from __future__ import annotations

import json
import math
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import pytest
from brokers import free_port, run_mosquitto
from crashkit import ServiceProcess, StreamPublisher, gateway_registry
from probes import eventually
from victoria import VictoriaMetricsServer

from ingest.historystores.influx import InfluxHistoryStore
from ingest.keeper import DRAIN_RETRY

pytestmark = pytest.mark.mosquitto


def probes_reach_the_ceiling_s() -> float:
    """Seconds of outage until the spool's probes of the store wait their longest."""
    waited, failures = 0.0, 1
    while DRAIN_RETRY.delay(failures) < DRAIN_RETRY.max_s:
        waited += DRAIN_RETRY.delay(failures)
        failures += 1
    return waited


#: The store stays down until its probes have climbed to their ceiling and waited it out
#: twice (6.2 s + 2 x 5 s today): every path an outage takes (spool, acks on, probes backing
#: off, then at the ceiling, then the drain) is taken; a longer one only repeats the last
#: probe. The outage's readings fit one spool file either way (files roll at 16 MB).
OUTAGE_S = probes_reach_the_ceiling_s() + 2 * DRAIN_RETRY.max_s
#: one round of the stream every PACE_S; the stream outlasts the outage by this margin (the
#: start and the broker restart come first: a busy machine is slow there)
PACE_S = 0.5
STREAM_MARGIN_S = 25.0


def latest_counters(data_dir: Path) -> dict[str, float]:
    """The ingest process's counters as it last wrote them (all zero before it did)."""
    files = list(data_dir.glob("counters-*.json"))
    if not files:
        return defaultdict(float)
    newest = max(files, key=lambda p: p.stat().st_mtime)
    return defaultdict(float, json.loads(newest.read_text()))


def test_broker_restart_and_a_store_outage_lose_nothing(
    tmp_path: Path, service_processes: Callable[..., ServiceProcess]
) -> None:
    registry = gateway_registry(gateways=4, homes_per_gateway=25)  # 200 meters
    registry.write(tmp_path / "households.csv", tmp_path / "meters.csv")
    victoria = VictoriaMetricsServer(free_port(), tmp_path / "victoria")
    victoria.start()
    port = free_port()
    data_dir = tmp_path / "var"
    broker_dir = tmp_path / "broker"
    rounds = math.ceil((OUTAGE_S + STREAM_MARGIN_S) / PACE_S)  # x 200 meters, about 41 s of stream
    try:
        with run_mosquitto(port, broker_dir):
            child = service_processes(tmp_path, port, victoria.url)
            child.start()
            publisher = StreamPublisher(port, registry, rounds, start_ts=time.time() - rounds * 60.0, step_s=60.0,
                                        pace_s=PACE_S, seed=3)
            publisher.start()
            eventually(lambda: latest_counters(data_dir)["readings_stored"] > 0, "readings flowing")
        # the broker is down here (stopped gracefully: it saves its sessions and queues)
        time.sleep(1.0)
        with run_mosquitto(port, broker_dir):
            eventually(lambda: latest_counters(data_dir)["messages_acked"] > 0 and publisher.client.is_connected(),
                       "ingest and gateways back on the restarted broker")
            stored_before = latest_counters(data_dir)["readings_stored"]
            victoria.stop()
            outage_started = time.monotonic()
            eventually(lambda: latest_counters(data_dir)["spooled"] > 0, "readings spooled while the store is down")
            during = latest_counters(data_dir)
            assert during["store_up"] == 0
            time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - outage_started)))
            during = latest_counters(data_dir)
            # acks went on during the outage: the spool, not the broker, held the readings
            assert during["readings_stored"] > stored_before and during["spool_readings"] > 0
            victoria.start()
            publisher.join(180)
            assert publisher.error is None and not publisher.is_alive()
            assert len(publisher.sent) == rounds * registry.n_meters
            reader = InfluxHistoryStore(victoria.url, "", "", "lifesign", [str(m) for m in registry.meter_ids])
            try:
                eventually(lambda: reader.count() == len(publisher.sent), "every reading in VictoriaMetrics",
                           timeout=90)
                stored = reader.read()
            finally:
                reader.close()
            after = latest_counters(data_dir)
            child.terminate()
            publisher.close()
    finally:
        victoria.stop()
    got = {(str(registry.meter_ids[m]), t): v for m, t, v in zip(stored.meter.tolist(), stored.ts.tolist(), stored.value.tolist())}
    assert got == publisher.sent
    assert after["spool_readings"] == 0 and after["drained"] == after["spooled"] > 0 and after["store_up"] == 1
