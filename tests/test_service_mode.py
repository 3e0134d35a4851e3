"""`lifesign run -c site.yaml` as a real process against a real mosquitto."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from brokers import free_port
from probes import MqttProbe, eventually
from running import RunningService

from app.cli import main as cli

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
H = 3600.0


def write_site(folder: Path, port: int, *, shipped_schedule: bool = False) -> Path:
    shutil.copytree(CONFIGS / "registry", folder / "registry")
    shutil.copy(CONFIGS / "roster.yaml", folder / "roster.yaml")
    shutil.copy(CONFIGS / "thresholds.yaml", folder / "thresholds.yaml")
    site = (CONFIGS / "site.yaml").read_text()
    site = site.replace("port: 1883", f"port: {port}").replace("data_dir: ../var", "data_dir: var")
    if not shipped_schedule:
        site = site.replace("sweep_s: 10", "sweep_s: 0.2").replace("reload_s: 5", "reload_s: 0.2")
    site = site.replace("client_id: lifesign-ingest", f"client_id: lifesign-test-{port}")
    site = site.replace("port: 8080", f"port: {free_port()}")
    (folder / "site.yaml").write_text(site)
    return folder / "site.yaml"


@pytest.fixture
def service(tmp_path: Path, mosquitto_port: int) -> Iterator[tuple[RunningService, Path, int]]:
    running = RunningService(write_site(tmp_path, mosquitto_port))
    try:
        eventually(lambda: "lifesign running" in running.output or running.proc.poll() is not None,
                   "the service to start", timeout=60)
        assert running.proc.poll() is None, running.output
        yield running, tmp_path, mosquitto_port
    finally:
        if running.proc.poll() is None:
            running.proc.kill()
            running.proc.wait()


def publish_silence(port: int, household: int, hours: float, *, end: float) -> None:
    """A home whose water stays flat and whose fridge keeps the power register moving."""
    gateway = MqttProbe(port, f"gateway-{household}")
    try:
        steps = int(hours * 4)
        for i in range(steps + 1):
            ts = end - (steps - i) * 900
            payload = {"meters": [f"W{household:05d}", f"E{household:05d}"], "ts": ts,
                       "values": [12.345, round(100 + i * 0.0125, 2)]}
            gateway.publish("lifesign/v1/readings/GW001", orjson.dumps(payload))
    finally:
        gateway.close()


def test_run_opens_an_order_on_the_workers_topic_and_stops_cleanly_on_sigterm(service) -> None:
    proc, folder, port = service
    worker = MqttProbe(port, "phone-gw-001", subscribe="lifesign/v1/workorders/gw-001")
    try:
        publish_silence(port, 1, 10.5, end=time.time())  # H00001 is red: 10 h
        eventually(lambda: len(worker.messages()) == 1, "the work order on gw-001's topic")
        ticket = orjson.loads(worker.messages()[0][1])
        assert ticket["order_id"] == 1
        assert "H00001" in orjson.dumps(ticket).decode()
        # the desk serves the worker's page from the ticket's link
        assert ticket["link"].split("/o/")[0] in proc.output
        assert httpx.get(ticket["link"], timeout=30).status_code == 200
    finally:
        worker.close()

    data_dir = folder / "var"
    assert cli(["orders", "ack", "1", "--data-dir", str(data_dir)]) == 0
    assert cli(["orders", "resolve", "1", "--data-dir", str(data_dir),
                "--outcome", "resident_fine", "--note", "napping, hearing aid off"]) == 0

    assert proc.stop() == 0, proc.output
    assert "lifesign stopped" in proc.output
    # what it learned of the homes' routines is kept for the next start, privately
    routines = data_dir / "routines.npz"
    assert routines.exists() and routines.stat().st_mode & 0o777 == 0o600


def test_thresholds_edited_under_a_running_service_apply_and_a_bad_edit_is_refused(service, capsys) -> None:
    proc, folder, port = service
    thresholds = folder / "thresholds.yaml"
    good = thresholds.read_text()
    # A typo: refused, logged, the old thresholds kept (H00002 is green: 16 h).
    thresholds.write_text(good.replace("green: {no_usage: {hours: 16}}", "green: {no_usage: {hourz: 2}}"))
    eventually(lambda: "thresholds not reloaded" in proc.output, "the bad edit refused")
    publish_silence(port, 2, 3, end=time.time() - 6 * H)
    # A valid edit: green drops to 2 h, so the same evidence now crosses the threshold.
    thresholds.write_text(good.replace("green: {no_usage: {hours: 16}}", "green: {no_usage: {hours: 2}}"))
    eventually(lambda: orders_listed(folder, capsys) == ["H00002"], "an order for H00002 after the edit")

    proc.stop()
    out = proc.output
    assert "tiers.green.no_usage.hourz is not a known key (did you mean 'hours'?)" in out
    assert "thresholds not reloaded, previous ones kept" in out
    assert "thresholds reloaded" in out


def orders_listed(folder: Path, capsys: pytest.CaptureFixture[str]) -> list[str]:
    if not (folder / "var" / "orders.sqlite").exists():
        return []
    capsys.readouterr()
    cli(["orders", "list", "--data-dir", str(folder / "var")])
    return [line.split()[1] for line in capsys.readouterr().out.splitlines() if line.startswith("#")]


def test_the_order_comes_at_the_threshold_not_at_the_next_sweep_period(tmp_path: Path, mosquitto_port: int) -> None:
    """The shipped schedule sweeps only every 10 s as a safety net, here an hour: the
    service wakes at the detector's next deadline instead."""
    site = write_site(tmp_path, mosquitto_port, shipped_schedule=True)
    site.write_text(site.read_text().replace("sweep_s: 10", "sweep_s: 3600").replace("escalation_s: 30",
                                                                                       "escalation_s: 3600"))
    running = RunningService(site)
    worker = MqttProbe(mosquitto_port, "phone-gw-001", subscribe="lifesign/v1/workorders/gw-001")
    try:
        eventually(lambda: "lifesign running" in running.output, "the service to start", timeout=60)
        now = time.time()
        start = now - 10 * H + 4.0  # H00001 (red, 10 h) crosses its threshold 4 s from now
        gateway = MqttProbe(mosquitto_port, "gateway-1")
        try:
            for i, ts in enumerate([*range(int(start), int(now), 900), now]):
                payload = {"meters": ["W00001", "E00001"], "ts": ts, "values": [12.345, round(100 + i * 0.0125, 4)]}
                gateway.publish("lifesign/v1/readings/GW001", orjson.dumps(payload))
        finally:
            gateway.close()
        eventually(lambda: len(worker.messages()) >= 1, "the order at the threshold, long before the hourly sweep",
                   timeout=60)
        assert time.time() >= start + 10 * H - 1.0  # not before the threshold either
    finally:
        worker.close()
        assert running.stop() == 0, running.output


def test_a_phone_that_was_offline_gets_its_open_orders_and_every_state_change(service) -> None:
    _, folder, port = service
    ticket = MqttProbe(port, "phone-gw-001-ticket", subscribe="lifesign/v1/workorders/gw-001")
    try:
        publish_silence(port, 1, 10.5, end=time.time())
        eventually(lambda: len(ticket.messages()) == 1, "the work order on gw-001's topic")
    finally:
        ticket.close()

    def states(probe: MqttProbe) -> list[dict]:
        return [orjson.loads(p) for _, p in probe.messages() if p]

    # the phone comes online after the order went out: the retained state brings it
    phone = MqttProbe(port, "phone-gw-001", subscribe="lifesign/v1/orders/gw-001/+")
    try:
        eventually(lambda: any(s["order_id"] == 1 and s["status"] in ("open", "notified") for s in states(phone)),
                   "the open order, retained")
        data_dir = folder / "var"
        assert cli(["orders", "ack", "1", "--data-dir", str(data_dir)]) == 0
        eventually(lambda: states(phone)[-1]["status"] == "acknowledged", "the acknowledgement")
        assert cli(["orders", "resolve", "1", "--data-dir", str(data_dir),
                    "--outcome", "resident_fine"]) == 0
        eventually(lambda: states(phone)[-1]["status"] == "resolved", "the resolution")
        assert states(phone)[-1]["outcome"] == "resident_fine"
    finally:
        phone.close()
    # resolved: nothing stays retained for the next phone
    late = MqttProbe(port, "phone-gw-001-late", subscribe="lifesign/v1/orders/gw-001/+")
    try:
        time.sleep(1.0)
        assert states(late) == []
    finally:
        late.close()
