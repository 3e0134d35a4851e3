"""The operations side through the JSON API and the forms: absences and outages made and
ended at the desk move homes on the board, the ledger exports as CSV, dispatch shows on
/metrics, and nothing personal reaches the logs."""

from __future__ import annotations

import csv
import io
import logging

import httpx
import pytest
from deskrig import T0, DeskRig, link_parts, login, open_order
from prometheus_client import CollectorRegistry, generate_latest

from app.dispatch_metrics import DispatchCollector
from app.web.staff import StaffRole

pytestmark = pytest.mark.mosquitto


def states(staff: httpx.Client) -> dict[str, str]:
    return {h["household_id"]: h["state"] for h in staff.get("/api/board").json()["homes"]}


def test_absences_outages_board_ledger_and_metrics(desk: DeskRig, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    order = open_order(desk)
    with desk.client() as client:
        staff, csrf = login(desk, client, "desk-c1", StaffRole.DESK, "C1")
        change = {"X-CSRF-Token": csrf}
        assert states(staff)["H00001"] == "order" and states(staff)["H00002"] == "fine"

        absence = staff.post("/api/absences", headers=change, json={
            "household_id": "H00002", "start": T0, "end": T0 + 2 * 86400, "reason": "visiting her son"})
        assert absence.status_code == 200, absence.text
        assert absence.json()["by"] == "staff:desk-c1"
        assert states(staff)["H00002"] == "muted"
        ended = staff.post(f"/api/absences/{absence.json()['absence_id']}/end", headers=change)
        assert ended.status_code == 200 and states(staff)["H00002"] == "fine"

        outage = staff.post("/api/outages", headers=change, json={
            "scope": "building", "area": "B003", "utilities": ["water"], "start": T0, "end": T0 + 3600,
            "reason": "pipe repair"})
        assert outage.status_code == 200, outage.text
        board = states(staff)
        assert board["H00028"] == "muted" and board["H00001"] == "order"
        assert staff.post(f"/api/outages/{outage.json()['outage_id']}/end", headers=change).status_code == 200
        assert states(staff)["H00028"] == "fine"

        # the same through the page's form (CSRF in a field); outside the area is refused
        form = staff.post("/ops/absences", data={"csrf": csrf, "household_id": "H00003", "reason": "hospital",
                                                  "end": "2099-01-01T00:00"})
        assert form.status_code == 303
        assert staff.post("/ops/absences", data={"household_id": "H00003", "reason": "x",
                                                  "end": "2099-01-01T00:00"}).status_code == 403
        assert staff.post("/api/absences", headers=change, json={
            "household_id": "H99999", "start": T0, "end": T0 + 60, "reason": "x"}).status_code == 403

        assert staff.post(f"/api/orders/{order.order_id}/ack", headers=change, json={"note": "on my way"}).status_code == 200
        rows = list(csv.DictReader(io.StringIO(staff.get("/api/ledger.csv").text)))
        assert [(r["action"], r["actor"]) for r in rows if r["source"] == "order"][-1] == ("acknowledged",
                                                                                           "staff:desk-c1")
        page = staff.get("/ops/ledger.csv")
        assert page.status_code == 200 and page.text == staff.get("/api/ledger.csv").text
        assert staff.get("/ops").status_code == 200 and staff.get("/households/H00001").status_code == 200
        assert "/api/orders/{order_id}/{action}" in staff.get("/openapi.json").json()["paths"]
        assert "/api/login" in staff.get("/docs").text  # the API list, served without a CDN

    registry = CollectorRegistry()
    assert desk.service.web is not None
    desk.service.sweep()
    registry.register(DispatchCollector(desk.service.orders, desk.service.sweeps, desk.service.web.staff))  # type: ignore[arg-type]
    metrics = generate_latest(registry).decode()
    assert 'lifesign_dispatch_orders{level="0",status="acknowledged"} 1.0' in metrics
    assert "lifesign_dispatch_time_to_acknowledge_seconds_count 1.0" in metrics
    assert "lifesign_dispatch_deliveries_abandoned_total 0.0" in metrics
    assert "lifesign_sweeps_total 1.0" in metrics
    assert "lifesign_desk_logins_failed_total 0.0" in metrics

    logged = "\n".join(r.getMessage() for r in caplog.records)
    household = desk.service.parts.registry.household_by_id("H00001")
    assert household.resident.phone not in logged and household.resident.name not in logged
    assert "+86" not in logged and "sig=" not in logged


def test_the_workers_page_says_a_lamp_left_on_brought_the_order_forward(desk: DeskRig) -> None:
    order = open_order(desk, left_on_s=6.5 * 3600, power_w=100.0, quiet_w=16.0, left_on_threshold_s=6 * 3600)
    plain = open_order(desk, "H00002")
    with desk.client() as client:
        page = client.get(f"/o/{order.order_id}", params=link_parts(desk, order.order_id, "gw-001")).text
        assert "电器未关：比静息用电高 84 瓦，已连续开着 6.5 小时，期间家中无其他动静" in page
        other = client.get(f"/o/{plain.order_id}", params=link_parts(desk, plain.order_id, "gw-001")).text
        assert 'id="left-on"' not in other and 'id="silence"' in other


def test_the_workers_page_says_a_power_meter_only_alarm_waited(desk: DeskRig) -> None:
    # H00002 and H00003 are green-tier homes of building B001 (configs/registry)
    order = open_order(desk, "H00002", electricity_only_s=34 * 3600, threshold_s=34 * 3600,
                       confirmed_silence_s=34.25 * 3600)
    plain = open_order(desk, "H00003")
    # a day and a half of silence already: the order is as urgent as a red-tier home's
    assert (order.tier, plain.tier) == ("red", "green")
    with desk.client() as client:
        page = client.get(f"/o/{order.order_id}", params=link_parts(desk, order.order_id, "gw-001")).text
        assert "仅有电表：静默满 34.0 小时才报警" in page
        other = client.get(f"/o/{plain.order_id}", params=link_parts(desk, plain.order_id, "gw-001")).text
        assert 'id="power-only"' not in other and 'id="silence"' in other
