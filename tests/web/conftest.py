"""A running lifesign service with its web desk: the real Service (ingest, detector,
dispatch) on a manual clock, a real mosquitto, uvicorn on a free 127.0.0.1 port."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from brokers import free_port

sys.path.insert(0, str(Path(__file__).resolve().parent))

from deskrig import T0, DeskRig, write_site

from app.service import Service, ServiceParts
from app.site import SiteConfig
from lifesign.clock import ManualClock


@pytest.fixture
def desk(tmp_path: Path, mosquitto_port: int) -> Iterator[DeskRig]:
    web_port = free_port()
    site = SiteConfig.load(write_site(tmp_path, mosquitto_port, web_port))
    clock, sessions = ManualClock(T0), ManualClock(T0)
    service = Service(ServiceParts.from_site(site), clock, console=None, session_clock=sessions)
    try:
        service.start()
        assert service.web is not None and service.web.url == f"http://127.0.0.1:{web_port}"
        yield DeskRig(service, clock, sessions, tmp_path, service.web.url, mosquitto_port)
    finally:
        service.stop()
