"""Pieces of the crash and outage tests: a registry of a few gateways, a publisher of
known readings, and the service (tests/ingest/service_child.py) as a child process,
started, killed at a chosen point and restarted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from importlib import resources
from pathlib import Path

import numpy as np
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from ingest.faults import FAULT_ENV
from lifesign.grid import Address, Household, Meter, Resident, Tier, Utility
from lifesign.registry import Registry
from lifesign.wire import encode_columnar, readings_topic

CHILD = Path(__file__).resolve().parent / "service_child.py"
#: bounds so that a hang fails the test instead of stalling it (never speed assertions)
CONFIRM_TIMEOUT_S = 180.0
EXIT_TIMEOUT_S = 120.0

#: one duty desk for the community of gateway_registry's homes: the service needs a roster
ROSTER_YAML = """workers:
  - {id: desk-c1, name: Duty desk C1, role: duty_desk, phone: "+86 21 0000 0000", communities: [C1]}
"""
#: the jobs never run during a test: no sweep may change the detector state compared afterwards
SITE_YAML = """broker: {{host: 127.0.0.1, port: {port}, client_id: crash-ingest-{port}, keepalive_s: 10}}
registry: {{households: households.csv, meters: meters.csv}}
roster: roster.yaml
thresholds: thresholds.yaml
data_dir: var
schedule: {{sweep_s: 86400, escalation_s: 86400, reload_s: 86400, status_s: 86400}}
ingest: {{spool_max_mb: 64}}
dispatch: {{console: false}}
"""


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
    """Publishes ``rounds`` columnar messages per gateway (QoS 1) and remembers every
    (meter id, ts, value) it sent. ``publish(n)`` sends the next n rounds from the
    caller's thread; ``start()`` sends all that are left from a thread, paced."""

    def __init__(self, port: int, registry: Registry, rounds: int, start_ts: float, step_s: float,
                 pace_s: float, seed: int) -> None:
        super().__init__(daemon=True)
        # whole seconds: stores keep time to the millisecond (VictoriaMetrics' resolution)
        self.registry, self.rounds, self.start_ts, self.step_s, self.pace_s = registry, rounds, float(int(start_ts)), step_s, pace_s
        self.rng = np.random.default_rng(seed)
        self.sent: dict[tuple[str, float], float] = {}
        #: rounds published so far (the next one to publish)
        self.published = 0
        self.by_gateway: dict[str, list[str]] = {}
        for i, meter in enumerate(registry.meter_ids):
            self.by_gateway.setdefault(registry.gateway_ids[int(registry.meter_gateway[i])], []).append(str(meter))
        self.registers = {m: float(self.rng.integers(0, 5000)) for m in map(str, registry.meter_ids)}
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"crash-gateways-{port}",
                                  protocol=mqtt.MQTTv311)
        self.client.max_inflight_messages_set(200)
        self.confirmed: set[int] = set()
        self.client.on_publish = lambda client, userdata, mid, *rest: self.confirmed.add(mid)
        self.client.connect("127.0.0.1", port, keepalive=30)
        self.client.loop_start()
        self.error: BaseException | None = None

    def publish(self, rounds: int, pace_s: float = 0.0) -> None:
        """Publish the next ``rounds`` rounds, then wait until the broker confirmed each."""
        infos = []
        for r in range(self.published, min(self.rounds, self.published + rounds)):
            ts = self.start_ts + r * self.step_s
            for gateway, meters in self.by_gateway.items():
                values = []
                for m in meters:
                    self.registers[m] = round(self.registers[m] + float(self.rng.choice([0.0, 0.0, 0.001, 0.013])), 3)
                    values.append(self.registers[m])
                    self.sent[(m, ts)] = self.registers[m]
                infos.append(self.client.publish(readings_topic(gateway), encode_columnar(meters, ts, values), qos=1))
            self.published = r + 1
            if pace_s:
                time.sleep(pace_s)
        # Like a gateway, paho keeps what it could not send (broker restarting) and
        # sends it after reconnecting; wait until the broker confirmed every message.
        # (info.is_published() raises for a message first tried while disconnected,
        # so the broker's PUBACKs are counted in on_publish instead.)
        mids = {info.mid for info in infos}
        deadline = time.monotonic() + CONFIRM_TIMEOUT_S
        while not mids <= self.confirmed:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{len(mids - self.confirmed)} messages never confirmed by the broker")
            time.sleep(0.05)

    def run(self) -> None:
        try:
            self.publish(self.rounds - self.published, self.pace_s)
        except BaseException as exc:  # noqa: BLE001  (surfaced by the test)
            self.error = exc

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class ServiceProcess:
    """The service on a site.yaml in ``folder`` (beside households.csv and meters.csv),
    as a child process; its data in ``folder/var``. Reap it with ``close()`` (the
    ``service_processes`` fixture does, also when the test fails)."""

    def __init__(self, folder: Path, port: int, influx: str | None = None) -> None:
        self.folder, self.data_dir, self.dump = folder, folder / "var", folder / "state.npz"
        site = SITE_YAML.format(port=port)
        if influx:
            site += f"history: {{kind: influx, influx: {{url: '{influx}', bucket: lifesign}}}}\n"
        (folder / "site.yaml").write_text(site)
        (folder / "roster.yaml").write_text(ROSTER_YAML)
        (folder / "thresholds.yaml").write_text(  # the thresholds the service ships with
            resources.files("app").joinpath("defaults/thresholds.yaml").read_text(encoding="utf-8"))
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log = self.data_dir / "child.log"
        self.proc: subprocess.Popen[str] | None = None
        self._started: list[subprocess.Popen[str]] = []
        #: readings the last start rebuilt its state from (the rest it applied live)
        self.replayed = 0

    def start(self, fault: str | None = None) -> None:
        """Start and wait until subscribed. With ``fault`` (``LIFESIGN_FAULT``, e.g.
        ``after_store_write:1``) it may die at that point already while starting, on
        messages the broker delivers again."""
        env = {k: v for k, v in os.environ.items() if k != FAULT_ENV}
        if fault:
            env[FAULT_ENV] = fault
        with open(self.log, "a") as log:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen([sys.executable, str(CHILD), str(self.folder / "site.yaml"), str(self.dump)],
                                         stdout=subprocess.PIPE, stderr=log, text=True, env=env)
        self._started.append(self.proc)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # "ready N" once subscribed (the child bounds that wait)
        if line.startswith("ready"):
            self.replayed = int(line.split()[1])
            return
        if fault and self.proc.wait(EXIT_TIMEOUT_S) == -signal.SIGKILL:
            return
        self.kill()
        raise AssertionError(f"service child did not start: {line!r}; log: {self.log.read_text()[-2000:]}")

    def wait_killed(self) -> None:
        """Wait for the child to reach its fault point and die there."""
        assert self.proc is not None
        code = self.proc.wait(EXIT_TIMEOUT_S)
        assert code == -signal.SIGKILL, f"expected death by the injected SIGKILL, got exit {code}: " \
                                         f"{self.log.read_text()[-2000:]}"

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()

    def terminate(self) -> None:
        """SIGTERM: the child stops the service and dumps its detector state."""
        assert self.proc is not None
        self.proc.terminate()
        if self.proc.wait(EXIT_TIMEOUT_S) != 0:
            raise AssertionError(f"service child exited with {self.proc.returncode}: {self.log.read_text()[-2000:]}")

    def close(self) -> None:
        """Kill and reap every child this started that still runs."""
        for proc in self._started:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
