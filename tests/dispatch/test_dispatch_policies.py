"""Closing policy per tier, who gets meter faults, urgency per rule, channel failure kinds."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from brokers import free_port
from dispatch_grid import ROSTER_YAML
from receiver import Receiver

from dispatch.channels import DeliveryError, RecordingChannel
from dispatch.channels.grouprobots import WeComChannel
from dispatch.channels.webhook import WebhookChannel
from dispatch.dispatcher import Dispatcher
from dispatch.orderstores.base import DispatchStore
from lifesign.alerts import Alert, AlertState, EpisodeKey, Severity
from lifesign.clock import ManualClock
from lifesign.grid import Tier
from lifesign.registry import Registry
from lifesign.roster import Roster
from lifesign.workorders import OrderStatus, Outcome

T0 = 1_763_700_000.0
DEADLINES = {Tier.RED: 900.0, Tier.YELLOW: 3600.0, Tier.GREEN: 14_400.0}
MAINTENANCE = """
  - id: mt-c1
    name: Meter maintenance
    role: maintenance
    phone: "+86 21 0000 0009"
    communities: [C1]
"""


def opened(hid: str, rule: str = "no_usage", severity: Severity = Severity.CRITICAL) -> Alert:
    return Alert(EpisodeKey(hid, rule, T0 - 50_000), AlertState.OPENED, T0, {"threshold_s": 43_200.0}, severity)


def resumed(hid: str, at: float) -> Alert:
    return Alert(EpisodeKey(hid, "no_usage", T0 - 50_000), AlertState.CLEARED, at, {"usage_resumed": at})


@pytest.fixture
def make(store: DispatchStore, registry: Registry, clock: ManualClock) -> Callable[..., Dispatcher]:
    def build(**kwargs: object) -> Dispatcher:
        channels = kwargs.pop("channels", [RecordingChannel()])
        return Dispatcher(store, registry, Roster.parse(ROSTER_YAML + MAINTENANCE), channels,  # type: ignore[arg-type]
                          clock, DEADLINES, **kwargs)  # type: ignore[arg-type]
    return build


def test_green_orders_close_themselves_when_usage_resumes_red_ones_wait_for_a_person(
    make: Callable[..., Dispatcher], clock: ManualClock
) -> None:
    d = make()
    red, green = d.handle([opened("H0001"), opened("H0003")])
    assert (red.tier, green.tier) == ("red", "green")
    clock.advance_to(T0 + 600)
    d.handle([resumed("H0001", T0 + 500), resumed("H0003", T0 + 550)])
    red, green = d.store.get(red.order_id), d.store.get(green.order_id)
    assert (red.status, red.usage_resumed_at) == (OrderStatus.OPEN, T0 + 500)
    assert (green.status, green.outcome, green.usage_resumed_at) == (
        OrderStatus.RESOLVED, Outcome.RESIDENT_FINE, T0 + 550)
    notes = [e.note for e in d.store.ledger(green.order_id)]
    assert notes[-1] == "usage resumed; closed automatically by the green tier's policy"


def test_an_order_someone_took_is_not_closed_under_them(make: Callable[..., Dispatcher]) -> None:
    d = make(close_on_usage={Tier.RED: "auto", Tier.YELLOW: "auto", Tier.GREEN: "auto"})
    (order,) = d.handle([opened("H0001")])
    d.store.transition(order.order_id, OrderStatus.ACKNOWLEDGED, d.clock.now(), "gw-zhang")
    d.handle([resumed("H0001", T0 + 60)])
    assert d.store.get(order.order_id).status is OrderStatus.ACKNOWLEDGED


def test_a_bad_close_policy_is_refused(make: Callable[..., Dispatcher]) -> None:
    with pytest.raises(ValueError, match=r"close_on_usage\[red\] must be person or auto, got 'sometimes'"):
        make(close_on_usage={Tier.RED: "sometimes"})


def test_meter_offline_goes_to_maintenance_then_the_desk_never_to_a_welfare_visit(
    make: Callable[..., Dispatcher], clock: ManualClock
) -> None:
    d = make()
    (order,) = d.handle([opened("H0001", "meter_offline", Severity.WARNING)])
    assert order.assignee == "mt-c1"
    clock.advance_to(T0 + 100_000)
    assert [o.assignee for o in d.escalate_due()] == ["desk-c1"]
    clock.advance_to(T0 + 200_000)
    assert d.escalate_due() == []  # no emergency contact for a meter fault


@pytest.mark.parametrize(("rule", "severity", "tier"), [
    ("continuous_flow", Severity.CRITICAL, "red"),      # H0003 is green, but water running on is urgent
    ("abnormal_high", Severity.WARNING, "green"),
    ("no_usage", Severity.WARNING, "green"),            # one utility silent: a step less urgent
])
def test_the_order_tier_follows_the_rule(make: Callable[..., Dispatcher], rule: str, severity: Severity,
                                         tier: str) -> None:
    (order,) = make().handle([opened("H0003", rule, severity)])
    assert order.tier == tier


def test_the_emergency_contact_gets_no_mqtt_style_staff_channel(make: Callable[..., Dispatcher]) -> None:
    staff_only = RecordingChannel("staff")
    staff_only.reaches_contacts = False
    d = make(channels=[staff_only, RecordingChannel("sms")])
    assert d.deliverer.channels_for("contact:H0001") == ["sms"]
    assert d.deliverer.channels_for("gw-zhang") == ["staff", "sms"]


def test_http_failures_are_sorted_into_retry_or_give_up(roster: Roster) -> None:
    http = Receiver(free_port())
    worker = roster.get("gw-zhang")
    payload = {"title": "t", "order_id": 1, "idempotency_key": "k"}
    with pytest.raises(DeliveryError) as down:
        WebhookChannel(f"{http.url}/x", timeout_s=1).deliver(worker, payload)
    assert down.value.recoverable
    http.start()
    try:
        http.fail_next("/x", (404, {}), (503, {}))
        with pytest.raises(DeliveryError) as missing:
            WebhookChannel(f"{http.url}/x", timeout_s=1).deliver(worker, payload)
        assert not missing.value.recoverable and "HTTP 404" in str(missing.value)
        with pytest.raises(DeliveryError) as busy:
            WebhookChannel(f"{http.url}/x", timeout_s=1).deliver(worker, payload)
        assert busy.value.recoverable
        http.fail_next("/w", (200, {"errcode": 93000, "errmsg": "invalid webhook url"}))
        with pytest.raises(DeliveryError) as bad_key:
            WeComChannel(f"{http.url}/w?key=secret", timeout_s=1).deliver(worker, payload)
        assert not bad_key.value.recoverable and "errcode 93000" in str(bad_key.value)
        assert "secret" not in str(bad_key.value) and "secret" not in str(missing.value)
        WebhookChannel(f"{http.url}/x", timeout_s=1).deliver(worker, payload)
        assert http.counts("/x") == {"k": 1}
    finally:
        http.stop()
