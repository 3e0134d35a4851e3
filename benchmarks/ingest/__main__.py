"""Ingest throughput through a real mosquitto, beside a bare paho receive loop measured
in the same run, on the same broker, with the same messages.

    python benchmarks/ingest [--quick]

Method: each case first queues its messages in the broker for a persistent session
(publish while the receiver is away), then starts the receiver and times it from
connect until the last message is processed, so the publisher's speed does not
limit what is measured. The bare loop only counts messages (paho acks QoS 1 itself).
lifesign decodes and validates, filters duplicates, writes the embedded history
store and updates the detector state, then acks (manual_ack): the full ingest path.
Both ends are signalled, not polled: the bare loop's last message sets an Event, and
so does a sink after lifesign's detector (then the counters confirm the ack).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "support"))

from brokers import free_port, run_mosquitto

from detectors.detector import Detector
from detectors.thresholds import Thresholds
from ingest.decode import ReadingDecoder
from ingest.historystores.segments import SegmentHistoryStore
from ingest.subscriber import MqttIngestor
from lifesign.clock import WallClock
from lifesign.grid import Address, Household, Meter, Resident, Tier, Utility
from lifesign.mqttclient import BrokerSettings
from lifesign.readings import ReadingBatch
from lifesign.registry import Registry
from lifesign.wire import encode_columnar, readings_topic

THRESHOLDS = (ROOT / "app" / "defaults" / "thresholds.yaml")


def registry(gateways: int, meters_per_gateway: int) -> Registry:
    households, meters = [], []
    for g in range(gateways):
        for m in range(meters_per_gateway // 2):
            hid = f"H{g:03d}{m:04d}"
            households.append(Household(hid, Address("C", "G", f"B{g}", "U", str(m)), Resident("R", 80, "1", "2"), Tier.RED))
            meters.append(Meter(f"W{g:03d}{m:04d}", hid, Utility.WATER, f"GW{g:03d}"))
            meters.append(Meter(f"E{g:03d}{m:04d}", hid, Utility.ELECTRICITY, f"GW{g:03d}"))
    return Registry.from_records(households, meters)


def messages(reg: Registry, per_message: int, count: int) -> list[tuple[str, bytes]]:
    """``count`` messages of ``per_message`` readings each, cycling through gateways and rounds."""
    by_gateway: dict[str, list[str]] = {}
    for i, meter in enumerate(reg.meter_ids):
        by_gateway.setdefault(reg.gateway_ids[int(reg.meter_gateway[i])], []).append(str(meter))
    slices = [(gw, ids[k:k + per_message]) for gw, ids in by_gateway.items() for k in range(0, len(ids), per_message)]
    rounds = -(-count // len(slices))
    start = time.time() - rounds * 60.0
    rng = np.random.default_rng(1)
    out = []
    for r in range(rounds):
        for gw, ids in slices:
            if len(out) == count:
                return out
            # registers only ever grow: each round adds up to 10 L / 0.01 kWh
            values = np.round(1000.0 + r * 0.01 + rng.random(len(ids)) * 0.01, 3)
            out.append((readings_topic(gw), encode_columnar(ids, start + r * 60.0, values)))
    return out


def preload(port: int, client_id: str, payloads: list[tuple[str, bytes]], qos: int) -> None:
    """Create the receiver's persistent session, then queue every message in it."""
    session = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False, protocol=mqtt.MQTTv311)
    subscribed = threading.Event()
    session.on_subscribe = lambda *a: subscribed.set()
    session.connect("127.0.0.1", port)
    session.loop_start()
    session.subscribe("lifesign/v1/readings/+", qos=1)
    assert subscribed.wait(10)
    session.disconnect()
    session.loop_stop()
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{client_id}-pub", protocol=mqtt.MQTTv311)
    pub.max_inflight_messages_set(1000)
    pub.max_queued_messages_set(0)
    pub.connect("127.0.0.1", port)
    pub.loop_start()
    last = None
    for topic, body in payloads:
        last = pub.publish(topic, body, qos=qos)
    assert last is not None
    last.wait_for_publish(300)
    if qos == 0:
        time.sleep(1.0)  # QoS 0 has no confirmation: let the broker take the tail
    pub.disconnect()
    pub.loop_stop()


def bare_paho(port: int, client_id: str, n: int) -> float:
    got = 0
    done = threading.Event()

    def on_message(client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        nonlocal got
        got += 1
        if got == n:
            done.set()

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False, protocol=mqtt.MQTTv311)
    client.on_message = on_message
    t0 = time.perf_counter()
    client.connect("127.0.0.1", port)
    client.loop_start()
    if not done.wait(600):
        raise RuntimeError(f"bare loop got {got} of {n}")
    elapsed = time.perf_counter() - t0
    client.disconnect()
    client.loop_stop()
    return elapsed


class Finish:
    """A sink after the detector that signals the last reading, as the bare loop's Event
    signals its last message. (Polling the counters every 2 ms instead put a third thread
    in the queue for the GIL and cost lifesign 5-20 % here.)"""

    def __init__(self, readings: int) -> None:
        self.readings = readings
        self.seen = 0
        self.done = threading.Event()

    def observe(self, batch: ReadingBatch) -> None:
        self.seen += len(batch)
        if self.seen >= self.readings:
            self.done.set()


def lifesign_ingest(port: int, client_id: str, reg: Registry, n: int, readings: int, qos: int, folder: Path
                    ) -> tuple[float, dict[str, object]]:
    store = SegmentHistoryStore(folder, [str(m) for m in reg.meter_ids])
    detector = Detector(reg, Thresholds.load(THRESHOLDS))
    finish = Finish(readings)
    ingestor = MqttIngestor(BrokerSettings(port=port, client_id=client_id), ReadingDecoder(reg), store,
                            [detector, finish], WallClock())
    counted = (lambda: ingestor.counters.messages_acked >= n) if qos else (lambda: ingestor.counters.messages_received >= n)
    t0 = time.perf_counter()
    ingestor.start()
    if not finish.done.wait(600):
        raise RuntimeError(f"ingest stuck at {ingestor.counters.snapshot()}")
    while not counted():  # the worker counts (and acks) right after its sinks: microseconds
        time.sleep(0.0001)
    elapsed = time.perf_counter() - t0
    ingestor.stop()
    snapshot = ingestor.counters.snapshot()
    store.close()
    return elapsed, snapshot


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the messages (a smoke run)")
    parser.add_argument("--case", type=int, action="append", help="run only these cases (0, 1, 2)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per case; the table shows medians")
    args = parser.parse_args()
    scale = 0.1 if args.quick else 1.0
    cases = [  # name, readings per message, messages, qos, target
        ("1 reading/message, QoS 0", 1, int(100_000 * scale), 0, ">= 70% of bare paho"),
        ("1 reading/message, QoS 1", 1, int(60_000 * scale), 1, ">= 70% of bare paho"),
        ("500 readings/message, QoS 1", 500, int(4_000 * scale), 1, ">= 500,000 readings/s"),
    ]
    reg = registry(gateways=20, meters_per_gateway=500)  # 10,000 meters
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()

        def queue_qos0(text: str) -> str:  # an offline persistent session also queues QoS 0 here
            return text + "\nqueue_qos0_messages true\n"

        with run_mosquitto(port, Path(tmp) / "broker", queue_qos0):
            for i, (name, per, count, qos, target) in enumerate(cases):
                if args.case and i not in args.case:
                    continue
                payloads = messages(reg, per, count)
                readings = count * per
                bare_runs, ingest_runs = [], []
                for r in range(args.repeat):
                    preload(port, f"bench-bare-{i}-{r}", payloads, qos)
                    bare_runs.append(bare_paho(port, f"bench-bare-{i}-{r}", count))
                    preload(port, f"bench-ingest-{i}-{r}", payloads, qos)
                    ingest_s, counters = lifesign_ingest(port, f"bench-ingest-{i}-{r}", reg, count, readings, qos,
                                                         Path(tmp) / f"h{i}-{r}")
                    assert counters["readings_stored"] == readings, counters
                    ingest_runs.append(ingest_s)
                bare_s, ingest_s = float(np.median(bare_runs)), float(np.median(ingest_runs))
                rows.append((name, count, readings, readings / bare_s, readings / ingest_s, bare_s / ingest_s, target))
    print(f"\nIngest through mosquitto on this machine ({reg.n_meters:,} meters; store: embedded; state: detector; "
          f"median of {args.repeat} runs)\n")
    print("| case | messages | readings | bare paho readings/s | lifesign readings/s | lifesign / bare | target |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for name, count, readings, bare, ours, ratio, target in rows:
        print(f"| {name} | {count:,} | {readings:,} | {bare:,.0f} | {ours:,.0f} | {ratio:.0%} | {target} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
