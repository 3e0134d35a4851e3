"""The desk's test rig: a site folder, and the running service's handles."""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from app.service import Service
from lifesign.clock import ManualClock

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
#: a round instant in the recent past: history stores keep recent data
T0 = float(int(time.time()) // 900 * 900)
PASSWORD = "correct horse battery"


@dataclass
class DeskRig:
    service: Service
    clock: ManualClock
    sessions: ManualClock
    folder: Path
    url: str
    broker_port: int

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, follow_redirects=False, timeout=30)


def write_site(folder: Path, broker_port: int, web_port: int) -> Path:
    shutil.copytree(CONFIGS / "registry", folder / "registry")
    for name in ("roster.yaml", "thresholds.yaml"):
        shutil.copy(CONFIGS / name, folder / name)
    site = (CONFIGS / "site.yaml").read_text()
    site = site.replace("port: 1883", f"port: {broker_port}").replace("data_dir: ../var", "data_dir: var")
    site = site.replace("client_id: lifesign-ingest", f"client_id: lifesign-desk-{broker_port}")
    site = site.replace("port: 8080", f"port: {web_port}")
    # the test drives sweeps and escalation itself, on the manual clock
    for key in ("sweep_s: 10", "escalation_s: 30", "status_s: 5"):
        site = site.replace(key, key.split(":")[0] + ": 3600")
    (folder / "site.yaml").write_text(site)
    return folder / "site.yaml"


