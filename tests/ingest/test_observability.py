"""What operators see: the Prometheus /metrics endpoint and `lifesign status`, from a
running service fed through a real mosquitto."""

from __future__ import annotations

import shutil
import urllib.request
from pathlib import Path

import orjson
import pytest
from brokers import free_port
from ingest_testkit import NOW, MqttProbe, eventually

from app.cli import main as cli
from app.service import Service, ServiceParts
from app.site import SiteConfig
from lifesign.clock import ManualClock
from lifesign.wire import readings_topic

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
pytestmark = pytest.mark.mosquitto


def site_for(folder: Path, port: int, metrics_port: int) -> SiteConfig:
    for name in ("registry", "roster.yaml", "thresholds.yaml"):
        (shutil.copytree if name == "registry" else shutil.copy)(CONFIGS / name, folder / name)
    text = (CONFIGS / "site.yaml").read_text()
    text = text.replace("port: 1883", f"port: {port}").replace("data_dir: ../var", "data_dir: var")
    text = text.replace("port: 0 ", f"port: {metrics_port} ").replace("client_id: lifesign-ingest", "client_id: obs")
    text = text.replace("console: true", "console: false").replace("port: 8080", f"port: {free_port()}")
    (folder / "site.yaml").write_text(text)
    return SiteConfig.load(folder / "site.yaml")


def test_pending_caps_and_dead_letter_limits_from_site_yaml_reach_ingest(mosquitto_port: int, tmp_path: Path) -> None:
    site_for(tmp_path, mosquitto_port, 0)
    text = (tmp_path / "site.yaml").read_text()
    for old, new in [("max_pending_messages: 2000", "max_pending_messages: 1500"),
                     ("max_pending_mb: 64", "max_pending_mb: 1"),
                     ("{per_gateway_burst: 20, per_gateway_per_s: 1,", "{per_gateway_burst: 1, per_gateway_per_s: 0.001,")]:
        assert old in text
        text = text.replace(old, new)
    (tmp_path / "site.yaml").write_text(text)
    service = Service(ServiceParts.from_site(SiteConfig.load(tmp_path / "site.yaml")), ManualClock(NOW))
    assert (service.ingestor.max_pending_messages, service.ingestor.max_pending_bytes) == (1500, 1024 * 1024)
    service.start()
    gateway = MqttProbe(mosquitto_port, "limits-gateway")
    try:
        for _ in range(3):
            gateway.publish(readings_topic("GW001"), b"{not json")
        eventually(lambda: service.ingestor.counters.messages_acked == 3, "three messages acked")
        # one report at once for a gateway, then one per 1,000 s: the other two are withheld
        assert (service.ingestor.counters.dead_letters_sent, service.ingestor.counters.dead_letters_suppressed) == (1, 2)
    finally:
        gateway.close()
        service.stop()


def metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith((name + " ", name + "{")):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in /metrics")


def test_metrics_endpoint_and_status_command_count_what_ingest_did(
    mosquitto_port: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    metrics_port = free_port()
    site = site_for(tmp_path, mosquitto_port, metrics_port)
    assert site.metrics.port == metrics_port
    service = Service(ServiceParts.from_site(site), ManualClock(NOW))
    service.start()
    gateway = MqttProbe(mosquitto_port, "obs-gateway")
    try:
        good = orjson.dumps({"meters": ["W00001", "E00001"], "ts": NOW - 900, "values": [1.0, 2.0]})
        gateway.publish(readings_topic("GW001"), good)
        gateway.publish(readings_topic("GW001"), good)  # a gateway retry
        gateway.publish(readings_topic("GW001"), b"{not json")
        gateway.publish(readings_topic("GW001"), orjson.dumps({"meter": "NOPE", "ts": NOW, "value": 1}))
        eventually(lambda: service.ingestor.counters.messages_acked == 4, "four messages acked")

        body = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).read().decode()
        assert metric(body, "lifesign_ingest_messages_received_total") == 4
        assert metric(body, "lifesign_ingest_readings_stored_total") == 2
        assert metric(body, "lifesign_ingest_duplicates_total") == 2
        assert metric(body, "lifesign_ingest_store_up") == 1
        assert metric(body, "lifesign_ingest_broker_connected") == 1
        assert metric(body, "lifesign_ingest_dead_letters_sent_total") == 2
        assert metric(body, "lifesign_ingest_lag_seconds") == 900
        assert 'lifesign_ingest_rejected_total{reason="malformed_json"} 1.0' in body
        assert 'lifesign_ingest_rejected_total{reason="unknown_meter"} 1.0' in body
        # dispatch shares the endpoint
        # (new data wakes a sweep, so how many ran by now depends on thread timing)
        assert metric(body, "lifesign_sweeps_total") >= 0 and "# TYPE lifesign_dispatch_orders gauge" in body

        service.write_status()
        assert cli(["status", "--data-dir", str(site.data_dir)]) == 0
        out = capsys.readouterr().out
        assert "stored           2" in out and "duplicates 2" in out
        assert "rejected   2 (malformed_json 1, unknown_meter 1)" in out
        assert "store      up" in out and "900 s behind" in out
        assert "broker     connected; lost or refused 0 times; dead-letter reports sent 2, withheld 0" in out
    finally:
        gateway.close()
        service.stop()
    with pytest.raises(OSError):  # the endpoint stops with the service
        urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=2)
