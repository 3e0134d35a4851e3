"""Private by default: the service's data folder is its own (0700, files 0600), and
residents' names and phone numbers never reach the log, even with the console
channel on (tickets go to the console stream, not to logging)."""

from __future__ import annotations

import io
import logging
import shutil
import stat
from pathlib import Path

import orjson
import pytest
from ingest_testkit import MqttProbe, eventually

from app.service import Service, ServiceParts
from app.site import SiteConfig
from lifesign.clock import ManualClock

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
NOW = 1_763_700_000.0
pytestmark = pytest.mark.mosquitto


def site_for(folder: Path, port: int) -> SiteConfig:
    for name in ("registry", "roster.yaml", "thresholds.yaml"):
        (shutil.copytree if name == "registry" else shutil.copy)(CONFIGS / name, folder / name)
    text = (CONFIGS / "site.yaml").read_text().replace("port: 1883", f"port: {port}")
    text = text.replace("data_dir: ../var", "data_dir: var").replace("client_id: lifesign-ingest", "client_id: pii")
    text = text.replace("port: 8080", "port: 0")  # the web desk on a free port, never a fixed one
    assert "console: true" in text
    (folder / "site.yaml").write_text(text)
    return SiteConfig.load(folder / "site.yaml")


def test_data_folder_is_private_and_the_log_holds_no_names_or_phones(
    mosquitto_port: int, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    site = site_for(tmp_path, mosquitto_port)
    site.data_dir.mkdir(mode=0o755)  # a folder made by an older version: closed at start
    console = io.StringIO()
    caplog.set_level(logging.DEBUG)
    service = Service(ServiceParts.from_site(site), ManualClock(NOW), console=console)
    service.start()
    gateway = MqttProbe(mosquitto_port, "pii-gateway")
    try:
        # H00001 (Chen Yan, red: 10 h) goes silent for 10.5 h while the fridge runs
        steps = 42
        for i in range(steps + 1):
            gateway.publish("lifesign/v1/readings/GW001", orjson.dumps(
                {"meters": ["W00001", "E00001"], "ts": NOW - (steps - i) * 900,
                 "values": [12.345, round(100 + i * 0.0125, 2)]}))
        eventually(lambda: service.ingestor.counters.messages_acked == steps + 1, "the readings acked")
        # the sweep wakes on new data by itself; a manual one may find the order already open
        service.sweep()
        eventually(lambda: any(o.household_id == "H00001" for o in service.orders.list()),
                   "an order for the silent home")
        service.write_status()
    finally:
        gateway.close()
        service.stop()

    household = service.parts.registry.household_by_id("H00001")
    private = [household.resident.name, household.resident.phone]
    assert all(p in console.getvalue() for p in private[:1])  # the console got the ticket...
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for text in private:  # ...the log did not
        assert text not in logged, f"{text!r} in the log"
    for contact in (household.resident.emergency_contact,):
        assert contact not in logged

    assert stat.S_IMODE(site.data_dir.stat().st_mode) == 0o700
    for name in ("orders.sqlite", "status.json"):
        assert stat.S_IMODE((site.data_dir / name).stat().st_mode) == 0o600, name
