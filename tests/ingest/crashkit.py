"""Pieces of the crash and outage tests: a registry of a few gateways, a paced
publisher of known readings, and the ingest process started, killed and restarted."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from lifesign.grid import Address, Household, Meter, Resident, Tier, Utility
from lifesign.registry import Registry
from lifesign.wire import encode_columnar, readings_topic

CHILD = Path(__file__).resolve().parent / "ingest_child.py"


def gateway_registry(gateways: int, homes_per_gateway: int) -> Registry:
    households, meters = [], []
    for g in range(gateways):
        for h in range(homes_per_gateway):
            hid = f"H{g:02d}{h:03d}"
            households.append(Household(hid, Address("C1", "G1", f"B{g:02d}", "U1", f"{h:03d}"),
                                        Resident(f"R {hid}", 80, "1", "2"), Tier.RED))
            meters.append(Meter(f"W{g:02d}{h:03d}", hid, Utility.WATER, f"GW{g:02d}"))
            meters.append(Meter(f"E{g:02d}{h:03d}", hid, Utility.ELECTRICITY, f"GW{g:02d}"))
    return Registry.from_records(households, meters)


class StreamPublisher(threading.Thread):
    """Publishes ``rounds`` columnar messages per gateway (QoS 1), paced, and remembers
    every (meter id, ts, value) it sent."""

    def __init__(self, port: int, registry: Registry, rounds: int, start_ts: float, step_s: float,
                 pace_s: float, seed: int) -> None:
        super().__init__(daemon=True)
        # whole seconds: stores keep time to the millisecond (VictoriaMetrics' resolution)
        self.registry, self.rounds, self.start_ts, self.step_s, self.pace_s = registry, rounds, float(int(start_ts)), step_s, pace_s
        self.rng = np.random.default_rng(seed)
        self.sent: dict[tuple[str, float], float] = {}
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"crash-gateways-{port}",
                                  protocol=mqtt.MQTTv311)
        self.client.max_inflight_messages_set(200)
        self.confirmed: set[int] = set()
        self.client.on_publish = lambda client, userdata, mid, *rest: self.confirmed.add(mid)
        self.client.connect("127.0.0.1", port, keepalive=30)
        self.client.loop_start()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            by_gateway: dict[str, list[str]] = {}
            for i, meter in enumerate(self.registry.meter_ids):
                by_gateway.setdefault(self.registry.gateway_ids[int(self.registry.meter_gateway[i])], []).append(str(meter))
            registers = {m: float(self.rng.integers(0, 5000)) for m in map(str, self.registry.meter_ids)}
            infos = []
            for r in range(self.rounds):
                ts = self.start_ts + r * self.step_s
                for gateway, meters in by_gateway.items():
                    values = []
                    for m in meters:
                        registers[m] = round(registers[m] + float(self.rng.choice([0.0, 0.0, 0.001, 0.013])), 3)
                        values.append(registers[m])
                        self.sent[(m, ts)] = registers[m]
                    infos.append(self.client.publish(readings_topic(gateway), encode_columnar(meters, ts, values), qos=1))
                time.sleep(self.pace_s)
            # Like a gateway, paho keeps what it could not send (broker restarting) and
            # sends it after reconnecting; wait until the broker confirmed every message.
            # (info.is_published() raises for a message first tried while disconnected,
            # so the broker's PUBACKs are counted in on_publish instead.)
            mids = {info.mid for info in infos}
            deadline = time.monotonic() + 180
            while not mids <= self.confirmed:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{len(mids - self.confirmed)} messages never confirmed by the broker")
                time.sleep(0.05)
        except BaseException as exc:  # noqa: BLE001  (surfaced by the test)
            self.error = exc

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class IngestProcess:
    def __init__(self, registry_dir: Path, data_dir: Path, port: int, dump: Path, influx: str | None = None,
                 *extra: str) -> None:
        self.args = [sys.executable, str(CHILD), "--registry", str(registry_dir), "--data-dir", str(data_dir),
                     "--port", str(port), "--client-id", f"crash-ingest-{port}", "--dump", str(dump)]
        if influx:
            self.args += ["--influx", influx]
        self.args += list(extra)
        self.proc: subprocess.Popen[str] | None = None
        #: readings the last start rebuilt its state from (the rest it applied live)
        self.replayed = 0
        self.log = data_dir / "child.log"
        data_dir.mkdir(parents=True, exist_ok=True)

    def start(self) -> None:
        with open(self.log, "a") as log:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=log, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # "ready N" once subscribed (bounded by the child's own 10 s)
        if not line.startswith("ready"):
            self.proc.kill()
            raise AssertionError(f"ingest child did not start: {line!r}; log: {self.log.read_text()[-2000:]}")
        self.replayed = int(line.split()[1])

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)

    def terminate(self) -> None:
        assert self.proc is not None
        self.proc.terminate()
        if self.proc.wait(30) != 0:
            raise AssertionError(f"ingest child exited with {self.proc.returncode}: {self.log.read_text()[-2000:]}")
