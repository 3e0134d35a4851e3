"""The history server crashing under `lifesign run`, and being down when it starts.

VictoriaMetrics answers a write before the samples are on disk (it flushes every
``-inmemoryDataFlushInterval``, 5 s by default); killed with SIGKILL it loses what it
had only in memory, readings lifesign has already acked to the broker. The
durability window writes them again when the server is back. And a service whose
history server is down at start still starts, detects and dispatches from its spool.
"""

from __future__ import annotations

import json
import shutil
import stat
import time
from pathlib import Path

import orjson
import pytest
from brokers import free_port, run_mosquitto
from crashkit import StreamPublisher
from probes import MqttProbe, eventually
from running import RunningService
from victoria import VictoriaMetricsServer

from ingest.historystores.influx import InfluxHistoryStore
from lifesign.registry import Registry

pytestmark = pytest.mark.mosquitto

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def write_site(folder: Path, port: int, victoria_url: str) -> Path:
    for name in ("registry", "roster.yaml", "thresholds.yaml"):
        (shutil.copytree if name == "registry" else shutil.copy)(CONFIGS / name, folder / name)
    site = (CONFIGS / "site.yaml").read_text()
    site = site.replace("port: 1883", f"port: {port}").replace("data_dir: ../var", "data_dir: var")
    site = site.replace("sweep_s: 10", "sweep_s: 0.2").replace("status_s: 5", "status_s: 0.2")
    site = site.replace("client_id: lifesign-ingest", f"client_id: lifesign-crash-{port}")
    site = site.replace("console: true", "console: false")
    site = site.replace("port: 8080", "port: 0")  # the web desk on a free port, never a fixed one
    site = site.replace("  kind: embedded ", f"  kind: influx\n  influx: {{url: '{victoria_url}', bucket: lifesign}}\n  #")
    (folder / "site.yaml").write_text(site)
    return folder / "site.yaml"


def status(folder: Path) -> dict[str, float]:
    try:
        return json.loads((folder / "var" / "status.json").read_text())["ingest"]
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def registry() -> Registry:
    return Registry.load(CONFIGS / "registry" / "households.csv", CONFIGS / "registry" / "meters.csv")


def stored(url: str) -> dict[tuple[str, float], float]:
    reg = registry()
    reader = InfluxHistoryStore(url, "", "", "lifesign", [str(m) for m in reg.meter_ids])
    try:
        batch = reader.read()
    finally:
        reader.close()
    return {(str(reg.meter_ids[m]), t): v for m, t, v in zip(batch.meter.tolist(), batch.ts.tolist(),
                                                              batch.value.tolist())}


def start_service(site: Path) -> RunningService:
    service = RunningService(site)
    eventually(lambda: "lifesign running" in service.output or service.proc.poll() is not None,
               "the service to start", timeout=60)
    assert service.proc.poll() is None, service.output
    return service


def test_victoriametrics_killed_mid_stream_loses_no_acknowledged_reading(tmp_path: Path) -> None:
    victoria = VictoriaMetricsServer(free_port(), tmp_path / "victoria")
    victoria.start()
    port = free_port()
    reg = registry()
    rounds = 150  # one columnar message per gateway every 0.1 s: about 15 s of stream
    try:
        with run_mosquitto(port, tmp_path / "broker"):
            service = start_service(write_site(tmp_path, port, victoria.url))
            publisher = StreamPublisher(port, reg, rounds, start_ts=time.time() - rounds * 60.0, step_s=60.0,
                                        pace_s=0.1, seed=15)
            try:
                publisher.start()
                eventually(lambda: status(tmp_path).get("readings_stored", 0) > 2000, "readings flowing")
                victoria.kill()  # mid-stream: the last seconds of acked readings were only in its memory
                acked_at_crash = status(tmp_path)["messages_acked"]
                time.sleep(2.0)
                victoria.start()
                publisher.join(120)
                assert publisher.error is None and not publisher.is_alive()
                messages = rounds * len(reg.gateway_ids)
                eventually(lambda: status(tmp_path).get("messages_acked", 0) >= messages
                           and status(tmp_path).get("spool_readings", 1) == 0, "everything acked and drained", 60)
                eventually(lambda: len(stored(victoria.url)) >= len(publisher.sent),
                           "every reading in VictoriaMetrics", 60)
                after = status(tmp_path)
            finally:
                publisher.close()
                code = service.stop()
            assert code == 0, service.output
            # and after VictoriaMetrics' own clean restart (what it keeps on disk, not in memory)
            victoria.stop()
            victoria.start()
            kept = stored(victoria.url)
    finally:
        victoria.stop()
    assert acked_at_crash > 0
    missing = set(publisher.sent) - set(kept)
    assert not missing, f"{len(missing)} acknowledged readings lost"
    assert after["replayed"] > 0  # the window was written again after the crash
    print(f"acked at the crash {acked_at_crash:.0f} messages; replayed {after['replayed']:.0f} readings; lost 0 "
          f"of {len(publisher.sent)}")


def test_lifesign_run_starts_detects_and_dispatches_while_the_history_server_is_down(tmp_path: Path) -> None:
    victoria = VictoriaMetricsServer(free_port(), tmp_path / "victoria")  # not started yet
    port = free_port()
    try:
        with run_mosquitto(port, tmp_path / "broker"):
            service = start_service(write_site(tmp_path, port, victoria.url))
            worker = MqttProbe(port, "phone-gw-001", subscribe="lifesign/v1/workorders/gw-001")
            gateway = MqttProbe(port, "gateway-GW001")
            try:
                assert "history store unreachable at start" in service.output
                # a home whose water stays flat for 10.5 h while its fridge runs: H00001 is red (10 h)
                end = time.time()
                steps = 42
                for i in range(steps + 1):
                    payload = {"meters": ["W00001", "E00001"], "ts": end - (steps - i) * 900,
                               "values": [12.345, round(100 + i * 0.0125, 2)]}
                    gateway.publish("lifesign/v1/readings/GW001", orjson.dumps(payload))
                eventually(lambda: len(worker.messages()) == 1, "the work order on gw-001's topic")
                assert "H00001" in worker.messages()[0][1].decode()
                # the order comes at the threshold (the sweep wakes on data), status.json every
                # status_s: wait for the file to show the spool, not for a sweep period
                eventually(lambda: status(tmp_path).get("spool_readings") == 2 * (steps + 1), "the spool in status")
                assert status(tmp_path)["store_up"] == 0
                victoria.start()
                eventually(lambda: status(tmp_path).get("spool_readings", 1) == 0, "the spool drained")
                assert len(stored(victoria.url)) == 2 * (steps + 1)
                eventually(lambda: status(tmp_path).get("store_up") == 1, "the store up in status")
            finally:
                gateway.close()
                worker.close()
                code = service.stop()
            assert code == 0, service.output
    finally:
        victoria.stop()
    # private by default: `lifesign run` makes every file its own alone
    data_dir = tmp_path / "var"
    modes = {str(p.relative_to(data_dir)): stat.S_IMODE(p.stat().st_mode) for p in [data_dir, *data_dir.rglob("*")]}
    assert {name: mode for name, mode in modes.items() if mode != (0o700 if Path(data_dir / name).is_dir() else 0o600)
            } == {}, modes
    assert "orders.sqlite" in modes and "spool" in modes
