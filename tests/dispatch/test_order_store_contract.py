"""One contract every work-order store passes (memory and SQLite alike)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from dispatch.orderstores import IllegalEscalationError, IllegalTransitionError, OrderLookupError
from dispatch.orderstores.base import Delivery, DispatchStore
from lifesign.alerts import EpisodeKey
from lifesign.workorders import ACTIVE, UNACKNOWLEDGED, LedgerEntry, OrderStatus, Outcome

T0 = 1_763_700_000.0
KEY = EpisodeKey("H0001", "no_usage", T0 - 50_000.0)
EVIDENCE = {
    "confirmed_silence_s": 46_800.0,
    "threshold_s": 43_200.0,
    "last_usage_water": T0 - 50_000.0,
}


def _open(store: DispatchStore, key: EpisodeKey = KEY, at: float = T0):  # type: ignore[no-untyped-def]
    return store.open_order(key, "gw-zhang", "red", at, EVIDENCE)


def test_open_order_creates_an_open_order_with_its_fields_and_one_ledger_line(
    store: DispatchStore,
) -> None:
    order, created = _open(store)
    assert created is True
    assert order.key == KEY
    assert (order.assignee, order.tier, order.status, order.opened_at) == (
        "gw-zhang",
        "red",
        OrderStatus.OPEN,
        T0,
    )
    assert order.escalation_level == 0
    assert order.evidence == EVIDENCE
    assert store.get(order.order_id) == order
    assert store.ledger(order.order_id) == [
        LedgerEntry(order.order_id, T0, "lifesign", "opened", "assigned to gw-zhang")
    ]


def test_open_order_is_idempotent_on_the_episode_key(store: DispatchStore) -> None:
    first, _ = _open(store)
    again, created = store.open_order(KEY, "someone-else", "green", T0 + 99, {})
    assert created is False
    assert again == first
    assert len(store.list()) == 1
    assert len(store.ledger()) == 1


def test_a_new_episode_of_the_same_household_is_a_new_order(store: DispatchStore) -> None:
    first, _ = _open(store)
    second, created = _open(store, EpisodeKey("H0001", "no_usage", T0 + 10))
    assert created is True
    assert second.order_id != first.order_id


def test_joining_returns_the_active_order_of_another_episode_instead_of_opening(
    store: DispatchStore,
) -> None:
    first, _ = _open(store)
    later = EpisodeKey("H0001", "no_usage", T0 + 10)
    joined, created = store.open_order(later, "gw-zhang", "red", T0 + 20, EVIDENCE, join_active=True)
    assert (joined, created) == (first, False)
    assert store.find(later) is None
    assert [e.action for e in store.ledger()] == ["opened"]
    # its own episode's order wins over another active one, also when joining
    again, created = store.open_order(KEY, "someone-else", "green", T0 + 30, {}, join_active=True)
    assert (again, created) == (first, False)
    other_rule, created = store.open_order(EpisodeKey("H0001", "continuous_flow", T0), "gw-zhang", "red",
                                           T0, EVIDENCE, join_active=True)
    assert created is True and other_rule.order_id != first.order_id


def test_joining_opens_when_the_other_episode_is_resolved(store: DispatchStore) -> None:
    first, _ = _open(store)
    store.transition(first.order_id, OrderStatus.ACKNOWLEDGED, T0 + 1, "gw-zhang")
    store.transition(first.order_id, OrderStatus.RESOLVED, T0 + 2, "gw-zhang", outcome=Outcome.RESIDENT_FINE)
    later = EpisodeKey("H0001", "no_usage", T0 + 10)
    second, created = store.open_order(later, "gw-zhang", "red", T0 + 20, EVIDENCE, join_active=True)
    assert created is True and second.key == later


def test_find_and_active_for(store: DispatchStore) -> None:
    assert store.find(KEY) is None
    assert store.active_for("H0001", "no_usage") is None
    order, _ = _open(store)
    assert store.find(KEY) == order
    assert store.active_for("H0001", "no_usage") == order
    assert store.active_for("H0001", "other_rule") is None
    assert store.active_for("H0002", "no_usage") is None
    store.transition(order.order_id, OrderStatus.ACKNOWLEDGED, T0 + 1, "gw-zhang")
    store.transition(
        order.order_id, OrderStatus.RESOLVED, T0 + 2, "gw-zhang", outcome=Outcome.RESIDENT_FINE
    )
    assert store.active_for("H0001", "no_usage") is None
    assert (
        store.find(KEY) is not None
    )  # resolved orders stay findable: replays must not reopen them


def test_get_unknown_order_raises_lookup_error_naming_it(store: DispatchStore) -> None:
    with pytest.raises(LookupError, match="No work order by the id of 404 was found"):
        store.get(404)
    with pytest.raises(OrderLookupError):
        store.transition(404, OrderStatus.NOTIFIED, T0, "x")


def test_list_filters_by_status(store: DispatchStore) -> None:
    a, _ = _open(store)
    b, _ = _open(store, EpisodeKey("H0002", "no_usage", T0))
    store.transition(b.order_id, OrderStatus.ACKNOWLEDGED, T0 + 1, "gw-zhang")
    assert [o.order_id for o in store.list()] == [a.order_id, b.order_id]
    assert [o.order_id for o in store.list(UNACKNOWLEDGED)] == [a.order_id]
    assert [o.order_id for o in store.list(frozenset({OrderStatus.ACKNOWLEDGED}))] == [b.order_id]
    assert [o.order_id for o in store.list(ACTIVE)] == [a.order_id, b.order_id]


def test_full_lifecycle_records_times_outcome_and_ledger(store: DispatchStore) -> None:
    order, _ = _open(store)
    oid = order.order_id
    assert (
        store.transition(oid, OrderStatus.NOTIFIED, T0 + 1, "lifesign").status
        is OrderStatus.NOTIFIED
    )
    acked = store.transition(oid, OrderStatus.ACKNOWLEDGED, T0 + 2, "gw-zhang", note="on my way")
    assert acked.acknowledged_at == T0 + 2
    assert (
        store.transition(oid, OrderStatus.ONSITE, T0 + 3, "gw-zhang").status is OrderStatus.ONSITE
    )
    done = store.transition(
        oid, OrderStatus.RESOLVED, T0 + 4, "gw-zhang", note="fine", outcome=Outcome.RESIDENT_FINE
    )
    assert (done.status, done.resolved_at, done.outcome) == (
        OrderStatus.RESOLVED,
        T0 + 4,
        Outcome.RESIDENT_FINE,
    )
    assert store.get(oid) == done
    assert [(e.actor, e.action, e.note) for e in store.ledger(oid)] == [
        ("lifesign", "opened", "assigned to gw-zhang"),
        ("lifesign", "notified", ""),
        ("gw-zhang", "acknowledged", "on my way"),
        ("gw-zhang", "onsite", ""),
        ("gw-zhang", "resolved", "fine"),
    ]


@pytest.mark.parametrize("last", [OrderStatus.ACKNOWLEDGED, OrderStatus.ONSITE])
def test_acknowledged_or_onsite_may_resolve_directly(
    store: DispatchStore, last: OrderStatus
) -> None:
    order, _ = _open(store)
    store.transition(order.order_id, OrderStatus.ACKNOWLEDGED, T0 + 1, "gw-zhang")
    if last is OrderStatus.ONSITE:
        store.transition(order.order_id, OrderStatus.ONSITE, T0 + 2, "gw-zhang")
    done = store.transition(
        order.order_id, OrderStatus.RESOLVED, T0 + 3, "gw-zhang", outcome=Outcome.AWAY
    )
    assert done.outcome is Outcome.AWAY


@pytest.mark.parametrize(
    ("path", "target"),
    [
        ([], OrderStatus.ONSITE),
        ([], OrderStatus.RESOLVED),
        ([OrderStatus.NOTIFIED], OrderStatus.ONSITE),
        ([OrderStatus.NOTIFIED], OrderStatus.NOTIFIED),
        ([OrderStatus.NOTIFIED, OrderStatus.ACKNOWLEDGED], OrderStatus.NOTIFIED),
        (
            [OrderStatus.NOTIFIED, OrderStatus.ACKNOWLEDGED, OrderStatus.ONSITE],
            OrderStatus.ACKNOWLEDGED,
        ),
    ],
)
def test_illegal_transition_names_order_and_both_states_and_changes_nothing(
    store: DispatchStore, path: list[OrderStatus], target: OrderStatus
) -> None:
    order, _ = _open(store)
    for i, step in enumerate(path):
        store.transition(order.order_id, step, T0 + i, "gw-zhang")
    before, ledger_before = store.get(order.order_id), store.ledger(order.order_id)
    current = path[-1] if path else OrderStatus.OPEN
    with pytest.raises(
        ValueError,
        match=f"Work order {order.order_id} cannot go from {current.value} to {target.value}",
    ):
        store.transition(
            order.order_id,
            target,
            T0 + 50,
            "gw-zhang",
            outcome=Outcome.ASSISTED if target is OrderStatus.RESOLVED else None,
        )
    assert store.get(order.order_id) == before
    assert store.ledger(order.order_id) == ledger_before


def test_resolved_is_final(store: DispatchStore) -> None:
    order, _ = _open(store)
    store.transition(order.order_id, OrderStatus.ACKNOWLEDGED, T0 + 1, "gw-zhang")
    store.transition(
        order.order_id, OrderStatus.RESOLVED, T0 + 2, "gw-zhang", outcome=Outcome.ASSISTED
    )
    with pytest.raises(IllegalTransitionError, match="resolved is final"):
        store.transition(order.order_id, OrderStatus.ACKNOWLEDGED, T0 + 3, "gw-zhang")


def test_resolving_requires_an_outcome(store: DispatchStore) -> None:
    order, _ = _open(store)
    store.transition(order.order_id, OrderStatus.ACKNOWLEDGED, T0 + 1, "gw-zhang")
    with pytest.raises(
        IllegalTransitionError,
        match="cannot go from acknowledged to resolved: resolving needs an outcome",
    ):
        store.transition(order.order_id, OrderStatus.RESOLVED, T0 + 2, "gw-zhang")
    assert store.get(order.order_id).status is OrderStatus.ACKNOWLEDGED


def test_an_outcome_is_only_recorded_when_resolving(store: DispatchStore) -> None:
    order, _ = _open(store)
    with pytest.raises(IllegalTransitionError, match="only recorded when resolving"):
        store.transition(order.order_id, OrderStatus.NOTIFIED, T0 + 1, "x", outcome=Outcome.AWAY)


def test_escalate_moves_one_level_and_writes_a_ledger_line(store: DispatchStore) -> None:
    order, _ = _open(store)
    moved = store.escalate(
        order.order_id, 1, "gl-li", T0 + 900, note="not acknowledged within 15 min"
    )
    assert (moved.escalation_level, moved.assignee, moved.status) == (1, "gl-li", OrderStatus.OPEN)
    assert store.get(order.order_id) == moved
    last = store.ledger(order.order_id)[-1]
    assert (last.at, last.action, last.note) == (
        T0 + 900,
        "escalated",
        "level 1: gw-zhang -> gl-li; not acknowledged within 15 min",
    )


def test_escalate_accepts_only_the_next_level_of_an_unacknowledged_order(
    store: DispatchStore,
) -> None:
    order, _ = _open(store)
    with pytest.raises(
        IllegalEscalationError,
        match=f"Work order {order.order_id} cannot escalate to level 2: it is at level 0",
    ):
        store.escalate(order.order_id, 2, "desk-c1", T0 + 1)
    store.escalate(order.order_id, 1, "gl-li", T0 + 1)
    with pytest.raises(IllegalEscalationError, match="next level is 2"):
        store.escalate(order.order_id, 1, "gl-li", T0 + 2)  # a second dispatcher racing
    store.transition(order.order_id, OrderStatus.ACKNOWLEDGED, T0 + 3, "gl-li")
    with pytest.raises(IllegalEscalationError, match="it is acknowledged"):
        store.escalate(order.order_id, 2, "desk-c1", T0 + 4)
    assert store.get(order.order_id).escalation_level == 1


def test_escalate_may_pass_over_a_level_but_only_from_the_level_it_is_at(store: DispatchStore) -> None:
    # a backup who held level 0 also holds level 1: the order goes straight to level 2
    order, _ = _open(store)
    moved = store.escalate(order.order_id, 2, "desk-c1", T0 + 900, from_level=0)
    assert (moved.escalation_level, moved.assignee) == (2, "desk-c1")
    with pytest.raises(IllegalEscalationError, match="it is at level 2, not at level 0"):
        store.escalate(order.order_id, 2, "desk-c1", T0 + 901, from_level=0)  # a second dispatcher racing
    with pytest.raises(IllegalEscalationError, match="only moves up from level 2"):
        store.escalate(order.order_id, 2, "desk-c1", T0 + 902, from_level=2)
    assert [e.action for e in store.ledger(order.order_id)].count("escalated") == 1


def test_record_usage_resumed_keeps_the_order_open_and_is_recorded_once(
    store: DispatchStore,
) -> None:
    order, _ = _open(store)
    resumed = store.record_usage_resumed(order.order_id, T0 + 60)
    assert resumed.usage_resumed_at == T0 + 60
    assert resumed.status is OrderStatus.OPEN
    again = store.record_usage_resumed(order.order_id, T0 + 120)
    assert again.usage_resumed_at == T0 + 60
    assert [e.action for e in store.ledger(order.order_id)] == ["opened", "usage resumed"]


def test_ledger_without_order_id_lists_every_line_in_order(store: DispatchStore) -> None:
    a, _ = _open(store)
    b, _ = _open(store, EpisodeKey("H0002", "no_usage", T0))
    store.transition(a.order_id, OrderStatus.NOTIFIED, T0 + 1, "lifesign")
    assert [(e.order_id, e.action) for e in store.ledger()] == [
        (a.order_id, "opened"),
        (b.order_id, "opened"),
        (a.order_id, "notified"),
    ]


# -- outbox --------------------------------------------------------------------


def _deliveries(order_id: int, level: int = 0, recipient: str = "gw-zhang") -> list[Delivery]:
    return [
        Delivery(order_id, channel, recipient, level, {"order_id": order_id, "text": "ticket"})
        for channel in ("mqtt", "console")
    ]


def test_enqueue_is_idempotent_per_order_channel_recipient_level(store: DispatchStore) -> None:
    order, _ = _open(store)
    assert store.enqueue(_deliveries(order.order_id), T0) == 2
    assert store.enqueue(_deliveries(order.order_id), T0 + 5) == 0
    assert store.enqueue(_deliveries(order.order_id, level=1, recipient="gl-li"), T0 + 5) == 2
    rows = store.deliveries(order.order_id)
    assert [(d.channel, d.recipient, d.escalation_level) for d in rows] == [
        ("mqtt", "gw-zhang", 0),
        ("console", "gw-zhang", 0),
        ("mqtt", "gl-li", 1),
        ("console", "gl-li", 1),
    ]
    assert rows[0].payload == {"order_id": order.order_id, "text": "ticket"}
    assert rows[0].next_attempt_at == T0 and rows[0].pending and rows[0].attempts == 0


def test_enqueue_for_an_unknown_order_raises(store: DispatchStore) -> None:
    with pytest.raises(LookupError):
        store.enqueue(_deliveries(404), T0)


def test_claim_due_leases_rows_so_they_are_not_claimed_twice(store: DispatchStore) -> None:
    order, _ = _open(store)
    store.enqueue(_deliveries(order.order_id), T0)
    assert store.claim_due(T0 - 1, {"mqtt", "console"}, lease_s=60) == []
    claimed = store.claim_due(T0, {"mqtt"}, lease_s=60)
    assert [d.channel for d in claimed] == ["mqtt"]
    assert store.claim_due(T0 + 30, {"mqtt"}, lease_s=60) == []
    # the claimer died mid-send: after the lease the row is due again
    assert [d.delivery_id for d in store.claim_due(T0 + 60, {"mqtt"}, lease_s=60)] == [
        claimed[0].delivery_id
    ]


def test_mark_delivered_once_then_never_due_again(store: DispatchStore) -> None:
    order, _ = _open(store)
    store.enqueue(_deliveries(order.order_id)[:1], T0)
    (row,) = store.claim_due(T0, {"mqtt"}, lease_s=60)
    assert store.mark_delivered(row.delivery_id, T0 + 1) is True
    assert store.mark_delivered(row.delivery_id, T0 + 2) is False
    (done,) = store.deliveries(order.order_id)
    assert (done.delivered_at, done.attempts, done.pending) == (T0 + 1, 1, False)
    assert store.claim_due(T0 + 10_000, {"mqtt"}, lease_s=60) == []
    assert [(e.action, e.note) for e in store.ledger(order.order_id)][-1] == (
        "delivered",
        "mqtt to gw-zhang (level 0)",
    )
    assert [e.action for e in store.ledger(order.order_id)].count("delivered") == 1


def test_retry_later_counts_attempts_and_reschedules(store: DispatchStore) -> None:
    order, _ = _open(store)
    store.enqueue(_deliveries(order.order_id)[:1], T0)
    (row,) = store.claim_due(T0, {"mqtt"}, lease_s=60)
    store.retry_later(row.delivery_id, T0 + 10, "broker down")
    (again,) = store.deliveries(order.order_id)
    assert (again.attempts, again.next_attempt_at, again.last_error) == (1, T0 + 10, "broker down")
    assert store.claim_due(T0 + 9, {"mqtt"}, lease_s=60) == []
    assert len(store.claim_due(T0 + 10, {"mqtt"}, lease_s=60)) == 1


def test_abandon_stops_a_delivery_and_says_why_in_the_ledger(store: DispatchStore) -> None:
    order, _ = _open(store)
    store.enqueue(_deliveries(order.order_id)[:1], T0)
    (row,) = store.claim_due(T0, {"mqtt"}, lease_s=60)
    store.abandon(row.delivery_id, T0 + 1, "no such phone")
    assert store.claim_due(T0 + 10_000, {"mqtt"}, lease_s=60) == []
    assert store.mark_delivered(row.delivery_id, T0 + 2) is False
    last = store.ledger(order.order_id)[-1]
    assert (last.action, last.note) == (
        "delivery abandoned",
        "mqtt to gw-zhang (level 0): no such phone",
    )


def test_orders_and_outbox_survive_reopening(store_factory: Callable[[], DispatchStore]) -> None:
    first = store_factory()
    order, _ = _open(first)
    first.transition(order.order_id, OrderStatus.NOTIFIED, T0 + 1, "lifesign")
    first.enqueue(_deliveries(order.order_id), T0)
    reopened = store_factory()
    assert reopened.get(order.order_id) == first.get(order.order_id)
    assert reopened.ledger() == first.ledger()
    assert reopened.deliveries() == first.deliveries()
    assert reopened.open_order(KEY, "gw-zhang", "red", T0, EVIDENCE)[1] is False


def test_outcomes_lists_resolved_household_orders_since_a_time(store: DispatchStore) -> None:
    first, _ = _open(store)
    second, _ = _open(store, EpisodeKey("H0002", "no_usage", T0 - 10.0))
    infra, _ = _open(store, EpisodeKey("building:B003", "infrastructure:no_usage:water", T0 - 5.0))
    _open(store, EpisodeKey("H0003", "no_usage", T0 - 1.0))  # still open
    for order, at, outcome in [(first, T0 + 100, Outcome.FALSE_ALARM), (second, T0 + 200, Outcome.AWAY),
                               (infra, T0 + 300, Outcome.METER_FAULT)]:
        store.transition(order.order_id, OrderStatus.ACKNOWLEDGED, at - 1, "gw")
        store.transition(order.order_id, OrderStatus.RESOLVED, at, "gw", outcome=outcome)
    assert store.outcomes() == [("H0001", "no_usage", "false_alarm", T0 + 100),
                                ("H0002", "no_usage", "away", T0 + 200)]
    assert store.outcomes(T0 + 150) == [("H0002", "no_usage", "away", T0 + 200)]
