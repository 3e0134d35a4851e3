"""The desk's test rig: a site folder, and the running service's handles."""

from __future__ import annotations

import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from app.service import Service
from app.web.staff import StaffRole
from lifesign.alerts import Alert, AlertState, EpisodeKey
from lifesign.clock import ManualClock
from lifesign.workorders import WorkOrder

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


def open_order(desk: DeskRig, household: str = "H00001", **evidence: float) -> WorkOrder:
    """An order for a home silent 11 h, delivered (gw-001 covers building B001)."""
    alert = Alert(EpisodeKey(household, "no_usage", T0 - 11 * 3600), AlertState.OPENED, T0,
                  {"confirmed_silence_s": 11 * 3600.0, "threshold_s": 10 * 3600.0, **evidence})
    (order,) = desk.service.dispatcher.handle([alert])
    desk.service.dispatcher.deliver_pending()
    return desk.service.orders.get(order.order_id)


def login(desk: DeskRig, client: httpx.Client, name: str, role: StaffRole, area: str = "") -> tuple[httpx.Client, str]:
    """A staff client: the session cookie is Secure, which httpx keeps off plain http, so it is sent by hand."""
    assert desk.service.web is not None
    if desk.service.web.staff.get(name) is None:
        desk.service.web.staff.add(name, role, area, PASSWORD, T0)
    answer = client.post("/api/login", json={"name": name, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=lax" in cookie
    token = re.search(r"lifesign_session=([^;]+)", cookie)
    assert token is not None
    return httpx.Client(base_url=desk.url, headers={"Cookie": f"lifesign_session={token.group(1)}"}), answer.json()["csrf"]


def link_parts(desk: DeskRig, order_id: int, worker: str, expires: int | None = None) -> dict[str, str]:
    """The query of a worker's signed link to an order."""
    assert desk.service.web is not None
    links = desk.service.web.links
    query = dict(pair.split("=", 1) for pair in links.query(order_id, worker, expires).split("&"))
    return {k: httpx.QueryParams(f"{k}={v}")[k] for k, v in query.items()}
