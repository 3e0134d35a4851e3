"""The whole loop in a real headless Chromium, on a running service with a real mosquitto:
a home falls silent → the ticket reaches the worker's MQTT topic with a link → the
phone-sized page opens from it → accept → the deadline passes without escalation (a
neighbour's unaccepted order does escalate) → on site → resolve → the ledger and the
operations view show it. Screenshots go to the test's tmp dir (and LIFESIGN_SCREENSHOTS)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import orjson
import pytest
from browser import chromium, viewport
from deskrig import PASSWORD, T0, DeskRig
from probes import MqttProbe, eventually
from silent_homes import publish_silence, wait_ingested

from app.cli import main as cli
from lifesign.wire import workorders_topic
from lifesign.workorders import OrderStatus

pytestmark = [pytest.mark.mosquitto, pytest.mark.browser]
PHONE, WIDE = (390, 844), (1920, 1080)


def shoot(driver: object, folder: Path, name: str) -> Path:
    """A screenshot for review: in the test's folder, and copied to LIFESIGN_SCREENSHOTS if set."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    assert driver.save_screenshot(str(path)), f"no screenshot {path}"  # type: ignore[attr-defined]
    extra = os.environ.get("LIFESIGN_SCREENSHOTS")
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(extra) / path.name)
    return path


def by_id(driver: object, element_id: str) -> object:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, element_id)  # type: ignore[attr-defined]


def status_of(driver: object) -> str:
    """The order's status as the page shows it; "" while the page is being replaced."""
    from selenium.common.exceptions import WebDriverException

    try:
        return str(by_id(driver, "status").get_attribute("data-status"))  # type: ignore[attr-defined]
    except WebDriverException:  # the element went with the old page (a POST's redirect)
        return ""


def test_a_silent_home_is_accepted_visited_and_resolved_from_the_phone(desk: DeskRig, tmp_path: Path) -> None:
    shots = tmp_path / "screenshots"
    service, orders = desk.service, desk.service.orders
    phone = MqttProbe(desk.broker_port, "phone-gw-001", subscribe=workorders_topic("gw-001"))
    leader = MqttProbe(desk.broker_port, "phone-gl-01", subscribe=workorders_topic("gl-01"))
    try:
        # H00001 and H00006 (both red, building B001: gw-001) fall silent for 10.5 h (red: 10 h)
        wait_ingested(service, publish_silence(desk.broker_port, [1, 6], 10.5, end=T0))
        service.sweep()  # new data may already have woken one: take the orders from the store
        created = {o.household_id: o for o in orders.list()}
        assert sorted(created) == ["H00001", "H00006"]
        eventually(lambda: len(phone.messages()) == 2, "both tickets on gw-001's topic")
        tickets = {t["household_id"]: t for t in (orjson.loads(p) for _, p in phone.messages())}
        link = tickets["H00001"]["link"]
        assert link.startswith(f"{desk.url}/o/{created['H00001'].order_id}?w=gw-001&exp=")
        assert link in tickets["H00001"]["text"]

        with chromium(tmp_path / "phone-profile", *PHONE) as browser:
            browser.get(link)  # type: ignore[attr-defined]
            assert status_of(browser) == OrderStatus.NOTIFIED.value
            assert "B001" in by_id(browser, "address").text  # type: ignore[attr-defined]
            assert by_id(browser, "call-resident").get_attribute("href") == "tel:+8613105282845"  # type: ignore[attr-defined]
            assert by_id(browser, "do-ack").text == "接单"  # type: ignore[attr-defined]
            assert browser.execute_script("return document.documentElement.scrollWidth") <= PHONE[0]  # type: ignore[attr-defined]
            shoot(browser, shots, "order-phone")
            by_id(browser, "do-ack").click()  # type: ignore[attr-defined]
            eventually(lambda: status_of(browser) == OrderStatus.ACKNOWLEDGED.value, "the page to show it accepted")
            assert "升级已停止" in by_id(browser, "notice").text  # type: ignore[attr-defined]

            # the red deadline (15 min) passes: the accepted order stays; the neighbour's escalates
            desk.clock.advance(20 * 60)
            service.escalate()
            accepted = orders.get(created["H00001"].order_id)
            assert (accepted.status, accepted.escalation_level, accepted.assignee) == (
                OrderStatus.ACKNOWLEDGED, 0, "gw-001")
            neighbour = orders.get(created["H00006"].order_id)
            assert (neighbour.escalation_level, neighbour.assignee) == (1, "gl-01")
            eventually(lambda: len(leader.messages()) == 1, "the neighbour's ticket on gl-01's topic")
            assert orjson.loads(leader.messages()[0][1])["household_id"] == "H00006"

            browser.refresh()  # type: ignore[attr-defined]
            by_id(browser, "do-onsite").click()  # type: ignore[attr-defined]
            eventually(lambda: status_of(browser) == OrderStatus.ONSITE.value, "the page to show on site")
            from selenium.webdriver.support.ui import Select

            Select(by_id(browser, "outcome")).select_by_value("resident_fine")
            by_id(browser, "note").send_keys("午睡，助听器没戴")  # type: ignore[attr-defined]
            by_id(browser, "do-resolve").click()  # type: ignore[attr-defined]
            eventually(lambda: status_of(browser) == OrderStatus.RESOLVED.value, "the page to show it resolved")
            assert by_id(browser, "outcome-shown").text == "居民安好"  # type: ignore[attr-defined]
            shoot(browser, shots, "order-phone-resolved")
            browser.get(link.replace("?w=", "?lang=en&w=", 1))  # type: ignore[attr-defined]
            assert by_id(browser, "outcome-shown").text == "resident fine"  # type: ignore[attr-defined]
        done = orders.get(created["H00001"].order_id)
        assert (done.status, done.outcome.value if done.outcome else None) == (OrderStatus.RESOLVED, "resident_fine")
        people = [(e.actor, e.action, e.note) for e in orders.ledger(done.order_id) if e.actor != "lifesign"]
        assert people == [("worker:gw-001", "acknowledged", ""), ("worker:gw-001", "onsite", ""),
                          ("worker:gw-001", "resolved", "午睡，助听器没戴")]
    finally:
        phone.close()
        leader.close()

    # the operations view: the first operator made with the CLI, logged in on the big screen
    (tmp_path / "pw").write_text(PASSWORD + "\n")
    assert cli(["staff", "add", "ops-li", "--role", "operator", "--password-file", str(tmp_path / "pw"),
                "--data-dir", str(desk.folder / "var")]) == 0
    assert service.web is not None
    service.web.desk.poll_s = 0.5
    with chromium(tmp_path / "wide-profile", *WIDE) as browser:
        browser.get(f"{desk.url}/ops")  # type: ignore[attr-defined]
        by_id(browser, "name").send_keys("ops-li")  # type: ignore[attr-defined]
        by_id(browser, "password").send_keys(PASSWORD)  # type: ignore[attr-defined]
        by_id(browser, "do-login").click()  # type: ignore[attr-defined]
        eventually(lambda: "/ops" in browser.current_url and _has(browser, "orders"), "the operations view")  # type: ignore[attr-defined]

        def row_status(order_id: int) -> str | None:
            from selenium.common.exceptions import WebDriverException
            from selenium.webdriver.common.by import By

            try:
                rows = browser.find_elements(By.CSS_SELECTOR, f'#live tr[data-order="{order_id}"]')  # type: ignore[attr-defined]
                return rows[0].get_attribute("data-status") if rows else None
            except WebDriverException:  # the live part was being replaced
                return "refreshing"

        neighbour_id = created["H00006"].order_id
        assert row_status(neighbour_id) == "notified" and row_status(created["H00001"].order_id) is None
        assert by_id(browser, "count-red-order").text == "1"  # type: ignore[attr-defined]
        shoot(browser, shots, "ops-wide")
        # the duty desk accepts the neighbour's order from the CLI: the open page picks it up by itself
        assert cli(["orders", "ack", str(neighbour_id), "--data-dir", str(desk.folder / "var"),
                    "--as", "ops-li", "--note", "calling her daughter"]) == 0
        eventually(lambda: row_status(neighbour_id) == "acknowledged", "the live part to refresh")
        browser.get(f"{desk.url}/households/H00001")  # type: ignore[attr-defined]
        ledger = by_id(browser, f"ledger-{created['H00001'].order_id}").text  # type: ignore[attr-defined]
        assert "worker:gw-001" in ledger and "resolved" in ledger and "午睡" in ledger
        shoot(browser, shots, "household-wide")
        viewport(browser, *PHONE)
        browser.get(f"{desk.url}/ops?lang=en")  # type: ignore[attr-defined]
        shoot(browser, shots, "ops-phone-en")
    assert {p.name for p in shots.iterdir()} >= {"order-phone.png", "ops-wide.png", "household-wide.png"}


def _has(driver: object, element_id: str) -> bool:
    from selenium.webdriver.common.by import By

    return bool(driver.find_elements(By.ID, element_id))  # type: ignore[attr-defined]
