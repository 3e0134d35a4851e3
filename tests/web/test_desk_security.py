"""Who may do what at the desk: every refusal is a 401 or 403 (429 for a locked name) and
leaves the order exactly as it was."""

from __future__ import annotations

import getpass
import re
from collections.abc import Iterator

import httpx
import pytest
from deskrig import PASSWORD, T0, DeskRig, link_parts, login, open_order

from app.cli import main as cli
from app.web.staff import StaffRole
from dispatch import actions
from lifesign.workorders import OrderStatus, WorkOrder

pytestmark = pytest.mark.mosquitto


def unchanged(desk: DeskRig, before: WorkOrder) -> bool:
    after = desk.service.orders.get(before.order_id)
    ledger = desk.service.orders.ledger(before.order_id)
    return after == before and not any(e.actor.startswith(("worker:", "staff:", "cli:")) for e in ledger)


@pytest.fixture
def client(desk: DeskRig) -> Iterator[httpx.Client]:
    with desk.client() as c:
        yield c


def form_token(desk: DeskRig, parts: dict[str, str], order_id: int) -> str:
    """The token the page would have put in its form for this link (as if the attacker had it)."""
    assert desk.service.web is not None
    from app.web.links import LinkClaim

    return desk.service.web.links.form_token(LinkClaim(order_id, parts["w"], int(parts["exp"])))


def test_bad_links_are_refused_and_change_nothing(desk: DeskRig, client: httpx.Client) -> None:
    order = open_order(desk)
    other = open_order(desk, "H00028")  # building B003: gw-002's
    good = link_parts(desk, order.order_id, "gw-001")
    expired = link_parts(desk, order.order_id, "gw-001", expires=int(T0) - 1)
    not_theirs = link_parts(desk, order.order_id, "gw-002")  # a real signature, for a worker who never held it
    tampered = {**good, "sig": good["sig"][:-2] + ("AA" if not good["sig"].endswith("AA") else "BB")}
    other_order = link_parts(desk, other.order_id, "gw-002")
    for name, parts, target in [("expired", expired, order), ("another worker's order", not_theirs, order),
                                ("tampered", tampered, order), ("moved to another order", other_order, order)]:
        page = client.get(f"/o/{target.order_id}", params=parts)
        assert page.status_code == 403, (name, page.status_code)
        post = client.post(f"/o/{target.order_id}/ack", data={**parts, "csrf": form_token(desk, parts, target.order_id)})
        assert post.status_code == 403, (name, post.status_code)
        assert unchanged(desk, target), name
    assert "expired" in client.get(f"/o/{order.order_id}", params=expired).text
    # the good link opens it, in Chinese by default
    assert client.get(f"/o/{order.order_id}", params=good).status_code == 200
    assert "接单" in client.get(f"/o/{order.order_id}", params=good).text


def test_a_post_without_its_csrf_token_is_refused(desk: DeskRig, client: httpx.Client) -> None:
    order = open_order(desk)
    parts = link_parts(desk, order.order_id, "gw-001")
    assert client.post(f"/o/{order.order_id}/ack", data=parts).status_code == 403
    assert client.post(f"/o/{order.order_id}/ack", data={**parts, "csrf": "forged"}).status_code == 403
    assert unchanged(desk, order)
    # staff: the API wants the session's token in X-CSRF-Token, the login form its own token
    staff, csrf = login(desk, client, "ops-li", StaffRole.OPERATOR)
    assert staff.post(f"/api/orders/{order.order_id}/ack", json={}).status_code == 403
    assert staff.post(f"/api/orders/{order.order_id}/ack", json={}, headers={"X-CSRF-Token": "x"}).status_code == 403
    assert client.post("/login", data={"name": "ops-li", "password": PASSWORD}).status_code == 403
    assert unchanged(desk, order)
    # with their tokens both go through
    done = staff.post(f"/api/orders/{order.order_id}/ack", json={"note": "calling"}, headers={"X-CSRF-Token": csrf})
    assert done.status_code == 200 and done.json()["status"] == "acknowledged"
    assert desk.service.orders.ledger(order.order_id)[-1].actor == "staff:ops-li"


def test_wrong_passwords_are_refused_and_ten_in_a_row_make_the_next_attempt_wait(
        desk: DeskRig, client: httpx.Client) -> None:
    assert desk.service.web is not None
    staff = desk.service.web.staff
    staff.add("desk-c1", StaffRole.DESK, "C1", PASSWORD, T0)
    assert client.get("/api/orders").status_code == 401
    assert client.get("/ops").status_code == 303
    for _ in range(10):
        assert client.post("/api/login", json={"name": "desk-c1", "password": "wrong password"}).status_code == 401
    assert staff.failures("desk-c1") == 10
    # the eleventh attempt waits, even with the right password: it is not even checked
    locked = client.post("/api/login", json={"name": "desk-c1", "password": PASSWORD})
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) == 30
    assert staff.throttled_logins == 1
    # the login page says the same
    form = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf is not None
    page = client.post("/login", data={"name": "desk-c1", "password": PASSWORD, "csrf": csrf.group(1)},
                       headers={"Cookie": f"lifesign_login_csrf={csrf.group(1)}"})  # Secure: sent by hand
    assert page.status_code == 429 and "Retry-After" in page.headers
    # once the wait is over, the right password works again and clears the count
    desk.sessions.advance(31)
    assert client.post("/api/login", json={"name": "desk-c1", "password": PASSWORD}).status_code == 200
    assert staff.failures("desk-c1") == 0


def test_staff_see_and_act_only_in_their_area(desk: DeskRig, client: httpx.Client) -> None:
    order = open_order(desk)
    leader, csrf = login(desk, client, "gl-g02", StaffRole.LEADER, "G02")
    assert leader.get("/api/orders").json() == []
    assert leader.get(f"/api/orders/{order.order_id}").status_code == 403
    assert leader.post(f"/api/orders/{order.order_id}/ack", json={}, headers={"X-CSRF-Token": csrf}).status_code == 403
    assert leader.get(f"/o/{order.order_id}").status_code == 403
    assert unchanged(desk, order)
    own, _ = login(desk, client, "gl-g01", StaffRole.LEADER, "G01")
    assert [o["order_id"] for o in own.get("/api/orders").json()] == [order.order_id]


def test_the_cli_and_the_page_change_orders_through_the_same_functions(
        desk: DeskRig, client: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, str]] = []
    step = actions._step

    def spy(store, order_id, status, actor, at, note, outcome=None):  # type: ignore[no-untyped-def]
        calls.append((status.value, str(actor)))
        return step(store, order_id, status, actor, at, note, outcome)

    monkeypatch.setattr(actions, "_step", spy)
    order = open_order(desk)
    data_dir = str(desk.folder / "var")
    assert cli(["orders", "ack", str(order.order_id), "--data-dir", data_dir]) == 0
    assert cli(["orders", "ack", str(order.order_id), "--data-dir", data_dir, "--as", "nobody"]) == 2
    parts = link_parts(desk, order.order_id, "gw-001")
    token = form_token(desk, parts, order.order_id)
    assert client.post(f"/o/{order.order_id}/onsite", data={**parts, "csrf": token}).status_code == 303
    refused = client.post(f"/o/{order.order_id}/ack", data={**parts, "csrf": token})
    assert refused.status_code == 409 and "cannot go from onsite to acknowledged" in refused.text
    assert client.post(f"/o/{order.order_id}/resolve",
                       data={**parts, "csrf": token, "outcome": "away", "note": "at her son's"}).status_code == 303
    me = f"cli:{re.sub(r'[^A-Za-z0-9_.@+-]', '_', getpass.getuser())}"
    expected = [("acknowledged", me), ("onsite", "worker:gw-001"), ("acknowledged", "worker:gw-001"),
                ("resolved", "worker:gw-001")]
    assert calls == expected
    people = [(e.action, e.actor) for e in desk.service.orders.ledger(order.order_id) if e.actor != "lifesign"]
    assert people == [c for c in expected if c != ("acknowledged", "worker:gw-001")]
    assert desk.service.orders.get(order.order_id).status is OrderStatus.RESOLVED
