"""The dispatcher over real stores (memory, SQLite), registry and roster; a recording channel."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest

from dispatch import actions
from dispatch.channels import ConsoleChannel, RecordingChannel
from dispatch.dispatcher import UNASSIGNED, Dispatcher
from dispatch.orderstores import IllegalTransitionError
from dispatch.orderstores.base import DispatchStore
from lifesign.alerts import Alert, AlertState, EpisodeKey
from lifesign.clock import ManualClock
from lifesign.grid import Tier
from lifesign.registry import Registry
from lifesign.roster import Roster
from lifesign.workorders import OrderStatus, Outcome, WorkOrder

T0 = 1_763_700_000.0
DEADLINES = {Tier.RED: 900.0, Tier.YELLOW: 3600.0, Tier.GREEN: 14_400.0}


def step(dispatcher: Dispatcher, order: WorkOrder, status: OrderStatus, actor: str, note: str = "",
         outcome: Outcome | None = None) -> WorkOrder:
    """A worker's step on an order through dispatch.actions, the one path the CLI and the desk take."""
    who, at = actions.Actor(actions.ActorKind.WORKER, actor), dispatcher.clock.now()
    if status is OrderStatus.ACKNOWLEDGED:
        return actions.acknowledge(dispatcher.store, order.order_id, who, at, note)
    if status is OrderStatus.ONSITE:
        return actions.on_site(dispatcher.store, order.order_id, who, at, note)
    return actions.resolve(dispatcher.store, order.order_id, who, at, outcome, note)


def opened(household_id: str = "H0001", start: float = T0 - 50_000, at: float = T0) -> Alert:
    return Alert(
        EpisodeKey(household_id, "no_usage", start),
        AlertState.OPENED,
        at,
        {"confirmed_silence_s": at - start, "threshold_s": 43_200.0, "last_usage_water": start},
    )


def cleared(household_id: str = "H0001", start: float = T0 - 50_000, at: float = T0 + 600) -> Alert:
    # the detector's evidence: when the activity that ended the silence happened
    return Alert(EpisodeKey(household_id, "no_usage", start), AlertState.CLEARED, at, {"usage_resumed": at})


def withdrawn(household_id: str = "H0001", start: float = T0 - 50_000, at: float = T0 + 600) -> Alert:
    """Cleared because a threshold was raised: no sign of life."""
    return Alert(EpisodeKey(household_id, "no_usage", start), AlertState.CLEARED, at, {"withdrawn": 1.0})


@pytest.fixture
def channel() -> RecordingChannel:
    return RecordingChannel()


@pytest.fixture
def make_dispatcher(
    store_factory: Callable[[], DispatchStore],
    registry: Registry,
    roster: Roster,
    clock: ManualClock,
    channel: RecordingChannel,
) -> Callable[[], Dispatcher]:
    """A new Dispatcher each call; over SQLite it opens the same file again, like a restart."""

    def make() -> Dispatcher:
        return Dispatcher(store_factory(), registry, roster, [channel], clock, DEADLINES)

    return make


@pytest.fixture
def dispatcher(make_dispatcher: Callable[[], Dispatcher]) -> Dispatcher:
    return make_dispatcher()


# -- opening -----------------------------------------------------------------------


def test_the_same_alert_twice_creates_one_order(dispatcher: Dispatcher) -> None:
    first = dispatcher.handle([opened()])
    assert len(first) == 1
    assert dispatcher.handle([opened()]) == []
    assert dispatcher.handle([opened(at=T0 + 300)]) == []  # the detector re-announcing the episode
    assert len(dispatcher.store.list()) == 1
    assert len(dispatcher.store.deliveries()) == 1


def test_a_replay_after_restart_creates_no_second_order(
    make_dispatcher: Callable[[], Dispatcher],
) -> None:
    make_dispatcher().handle([opened()])
    restarted = make_dispatcher()
    assert restarted.handle([opened()]) == []
    assert len(restarted.store.list()) == 1


def test_a_new_episode_while_an_order_is_active_is_folded_into_it(dispatcher: Dispatcher) -> None:
    (order,) = dispatcher.handle([opened()])
    assert dispatcher.handle([opened(start=T0 - 100)]) == []
    assert [o.order_id for o in dispatcher.store.list()] == [order.order_id]


def test_after_resolving_a_new_episode_opens_a_new_order(dispatcher: Dispatcher) -> None:
    (order,) = dispatcher.handle([opened()])
    step(dispatcher, order, OrderStatus.ACKNOWLEDGED, "gw-zhang")
    step(dispatcher, order, OrderStatus.RESOLVED, "gw-zhang", outcome=Outcome.RESIDENT_FINE)
    assert dispatcher.handle([opened()]) == []  # the resolved episode itself is never reopened
    assert len(dispatcher.handle([opened(start=T0 - 100)])) == 1


@pytest.mark.parametrize(
    ("household_id", "worker_id"),
    [("H0001", "gw-zhang"), ("H0002", "gw-zhang"), ("H0003", "gw-zhao")],
)
def test_the_assignee_is_the_grid_worker_of_the_building(
    dispatcher: Dispatcher, household_id: str, worker_id: str
) -> None:
    (order,) = dispatcher.handle([opened(household_id)])
    assert order.assignee == worker_id
    assert order.tier == dispatcher.registry.household_by_id(household_id).tier.value
    assert order.evidence["threshold_s"] == 43_200.0
    (delivery,) = dispatcher.store.deliveries(order.order_id)
    assert (delivery.recipient, delivery.escalation_level, delivery.channel) == (
        worker_id,
        0,
        "recording",
    )
    assert delivery.payload["order_id"] == order.order_id


def test_a_household_nobody_covers_is_opened_unassigned_and_not_delivered(
    dispatcher: Dispatcher,
) -> None:
    (order,) = dispatcher.handle([opened("H0010")])
    assert order.assignee == UNASSIGNED
    assert dispatcher.store.deliveries(order.order_id) == []
    assert dispatcher.escalate_due() == []


def test_an_alert_for_an_unregistered_household_is_dropped(dispatcher: Dispatcher) -> None:
    assert dispatcher.handle([opened("H-nobody"), opened("H0002")])[0].household_id == "H0002"
    assert len(dispatcher.store.list()) == 1


def test_a_cleared_alert_records_usage_resumed_without_closing(dispatcher: Dispatcher) -> None:
    (order,) = dispatcher.handle([opened()])
    dispatcher.handle([cleared(at=T0 + 600)])
    after = dispatcher.store.get(order.order_id)
    assert after.usage_resumed_at == T0 + 600
    assert after.status is OrderStatus.OPEN
    assert dispatcher.store.ledger(order.order_id)[-1].action == "usage resumed"
    dispatcher.handle([cleared(household_id="H0002")])  # no order for that episode: nothing happens
    assert len(dispatcher.store.list()) == 1


# -- delivery ----------------------------------------------------------------------


def test_delivery_marks_the_order_notified_once_confirmed(
    dispatcher: Dispatcher, channel: RecordingChannel
) -> None:
    (order,) = dispatcher.handle([opened()])
    assert dispatcher.store.get(order.order_id).status is OrderStatus.OPEN
    assert dispatcher.deliver_pending() == 1
    assert channel.recipients() == ["gw-zhang"]
    assert channel.delivered[0].payload["title"].startswith("[RED]")
    assert dispatcher.store.get(order.order_id).status is OrderStatus.NOTIFIED
    assert dispatcher.deliver_pending() == 0
    assert channel.attempts == 1


def test_a_failing_channel_is_retried_with_backoff_and_delivers_exactly_once(
    make_dispatcher: Callable[[], Dispatcher], channel: RecordingChannel, clock: ManualClock
) -> None:
    dispatcher = make_dispatcher()
    (order,) = dispatcher.handle([opened()])
    channel.fail_next(3)
    # (time, attempts made so far): 10 s, then 20 s, then 40 s between tries
    for at, attempts in [
        (T0, 1),
        (T0 + 9, 1),
        (T0 + 10, 2),
        (T0 + 29, 2),
        (T0 + 30, 3),
        (T0 + 69, 3),
    ]:
        clock.advance_to(at)
        assert dispatcher.deliver_pending() == 0
        assert channel.attempts == attempts, at
    (row,) = dispatcher.store.deliveries(order.order_id)
    assert (row.attempts, row.next_attempt_at, row.last_error) == (
        3,
        T0 + 70,
        "recording could not deliver to 'gw-zhang': told to fail (recoverable)",
    )
    assert dispatcher.store.get(order.order_id).status is OrderStatus.OPEN
    clock.advance_to(T0 + 70)
    restarted = make_dispatcher()  # the retry schedule lives in the store
    assert restarted.deliver_pending() == 1
    clock.advance_to(T0 + 100_000)
    assert restarted.deliver_pending() == 0
    assert make_dispatcher().deliver_pending() == 0
    assert channel.recipients() == ["gw-zhang"]
    assert channel.attempts == 4
    assert restarted.store.get(order.order_id).status is OrderStatus.NOTIFIED


def test_backoff_is_capped(
    store: DispatchStore, registry: Registry, roster: Roster, clock: ManualClock
) -> None:
    channel = RecordingChannel(fail_times=100)
    dispatcher = Dispatcher(
        store, registry, roster, [channel], clock, DEADLINES, retry_base_s=10, retry_max_s=60
    )
    (order,) = dispatcher.handle([opened()])
    for _ in range(6):
        dispatcher.deliver_pending()
        clock.advance_to(store.deliveries(order.order_id)[0].next_attempt_at)
    (row,) = store.deliveries(order.order_id)
    assert row.attempts == 6
    assert row.next_attempt_at == clock.now()
    dispatcher.deliver_pending()
    assert store.deliveries(order.order_id)[0].next_attempt_at == clock.now() + 60


def test_a_non_recoverable_failure_is_abandoned_and_written_down(
    dispatcher: Dispatcher, channel: RecordingChannel, clock: ManualClock
) -> None:
    (order,) = dispatcher.handle([opened()])
    channel.fail_next(1, recoverable=False)
    assert dispatcher.deliver_pending() == 0
    clock.advance(10_000)
    assert dispatcher.deliver_pending() == 0
    assert channel.attempts == 1
    (row,) = dispatcher.store.deliveries(order.order_id)
    assert row.abandoned_at == T0
    assert dispatcher.store.ledger(order.order_id)[-1].action == "delivery abandoned"


def test_a_delivery_for_an_order_resolved_meanwhile_is_not_sent(
    dispatcher: Dispatcher, channel: RecordingChannel
) -> None:
    (order,) = dispatcher.handle([opened()])
    step(dispatcher, order, OrderStatus.ACKNOWLEDGED, "gw-zhang", note="saw it on the desk screen")
    step(dispatcher, order, OrderStatus.RESOLVED, "gw-zhang", outcome=Outcome.FALSE_ALARM)
    assert dispatcher.deliver_pending() == 0
    assert channel.attempts == 0
    assert "resolved before delivery" in dispatcher.store.ledger(order.order_id)[-1].note


def test_a_delivery_after_an_early_ack_keeps_the_order_acknowledged(
    dispatcher: Dispatcher, channel: RecordingChannel
) -> None:
    (order,) = dispatcher.handle([opened()])
    step(dispatcher, order, OrderStatus.ACKNOWLEDGED, "gw-zhang")
    assert dispatcher.deliver_pending() == 1
    assert dispatcher.store.get(order.order_id).status is OrderStatus.ACKNOWLEDGED


def test_every_channel_gets_the_ticket(
    store: DispatchStore, registry: Registry, roster: Roster, clock: ManualClock
) -> None:
    console_out = io.StringIO()
    recording = RecordingChannel()
    dispatcher = Dispatcher(
        store, registry, roster, [ConsoleChannel(console_out), recording], clock, DEADLINES
    )
    dispatcher.handle([opened()])
    assert dispatcher.deliver_pending() == 2
    assert (
        "=== to Zhang Wei (gw-zhang, grid_worker, +86 138 0000 0001) ===" in console_out.getvalue()
    )
    assert "Wang Fang" in console_out.getvalue()
    assert recording.recipients() == ["gw-zhang"]


def test_a_crash_between_opening_and_enqueueing_is_healed(
    dispatcher: Dispatcher, channel: RecordingChannel
) -> None:
    alert = opened()
    dispatcher.store.open_order(
        alert.key, "gw-zhang", "red", alert.at, dict(alert.evidence)
    )  # then "crashed"
    assert dispatcher.escalate_due() == []
    assert dispatcher.deliver_pending() == 1
    assert channel.recipients() == ["gw-zhang"]


# -- escalation --------------------------------------------------------------------


def _escalations(store: DispatchStore, order_id: int) -> list[tuple[float, str]]:
    return [(e.at, e.note) for e in store.ledger(order_id) if e.action == "escalated"]


def test_escalation_goes_worker_leader_desk_across_restarts_without_skip_or_repeat(
    make_dispatcher: Callable[[], Dispatcher], clock: ManualClock, channel: RecordingChannel
) -> None:
    dispatcher = make_dispatcher()
    (order,) = dispatcher.handle([opened()])
    dispatcher.deliver_pending()
    clock.advance_to(T0 + 899)
    assert dispatcher.escalate_due() == []

    clock.advance_to(T0 + 900)
    (moved,) = dispatcher.escalate_due()
    assert (moved.escalation_level, moved.assignee) == (1, "gl-li")
    assert dispatcher.escalate_due() == []
    assert make_dispatcher().escalate_due() == []  # a restart at the same moment repeats nothing
    assert make_dispatcher().deliver_pending() == 1
    assert channel.recipients() == ["gw-zhang", "gl-li"]

    # the leader gets a full deadline from the moment it reached them, also after a restart
    clock.advance_to(T0 + 1799)
    assert make_dispatcher().escalate_due() == []
    clock.advance_to(T0 + 1800)
    restarted = make_dispatcher()
    (desk,) = restarted.escalate_due()
    assert (desk.escalation_level, desk.assignee) == (2, "desk-c1")
    restarted.deliver_pending()
    assert channel.recipients() == ["gw-zhang", "gl-li", "desk-c1"]

    # last step: the resident's emergency contact, on the channels that reach outside the staff
    clock.advance_to(T0 + 2700)
    (contact,) = make_dispatcher().escalate_due()
    assert (contact.escalation_level, contact.assignee) == (3, "contact:H0001")
    make_dispatcher().deliver_pending()
    assert channel.recipients() == ["gw-zhang", "gl-li", "desk-c1", "contact:H0001"]
    assert channel.delivered[-1].recipient.phone == "+86 137 0000 0001"

    # chain exhausted: stays with the contact, nothing more is written
    ledger_before = make_dispatcher().store.ledger(order.order_id)
    clock.advance_to(T0 + 100_000)
    assert make_dispatcher().escalate_due() == []
    assert make_dispatcher().deliver_pending() == 0
    final = make_dispatcher().store
    assert final.ledger(order.order_id) == ledger_before
    assert final.get(order.order_id).escalation_level == 3
    assert _escalations(final, order.order_id) == [
        (T0 + 900, "level 1: gw-zhang -> gl-li; not acknowledged within 15 min"),
        (T0 + 1800, "level 2: gl-li -> desk-c1; not acknowledged within 15 min"),
        (T0 + 2700, "level 3: desk-c1 -> contact:H0001; not acknowledged within 15 min"),
    ]


def test_an_overdue_order_after_downtime_climbs_one_level_per_deadline(
    dispatcher: Dispatcher, clock: ManualClock
) -> None:
    (_order,) = dispatcher.handle([opened()])
    clock.advance_to(T0 + 10_000)  # the service was down for hours
    assert [o.assignee for o in dispatcher.escalate_due()] == ["gl-li"]
    assert dispatcher.escalate_due() == []
    clock.advance_to(T0 + 10_900)
    assert [o.assignee for o in dispatcher.escalate_due()] == ["desk-c1"]


def test_the_deadline_follows_the_tier(dispatcher: Dispatcher, clock: ManualClock) -> None:
    dispatcher.handle([opened("H0001"), opened("H0002")])  # red and yellow
    clock.advance_to(T0 + 900)
    assert [o.household_id for o in dispatcher.escalate_due()] == ["H0001"]
    clock.advance_to(T0 + 3600)
    assert [o.household_id for o in dispatcher.escalate_due()] == ["H0001", "H0002"]


def test_a_chain_without_a_leader_goes_from_worker_to_desk(
    dispatcher: Dispatcher, clock: ManualClock
) -> None:
    (_order,) = dispatcher.handle([opened("H0003")])  # green, grid G02 has no leader
    clock.advance_to(T0 + 14_400)
    assert [(o.escalation_level, o.assignee) for o in dispatcher.escalate_due()] == [(1, "desk-c1")]
    clock.advance_to(T0 + 28_800)
    assert [(o.escalation_level, o.assignee) for o in dispatcher.escalate_due()] == [(2, "contact:H0003")]
    clock.advance_to(T0 + 100_000)
    assert dispatcher.escalate_due() == []


def test_ack_stops_escalation(dispatcher: Dispatcher, clock: ManualClock) -> None:
    (order,) = dispatcher.handle([opened()])
    dispatcher.deliver_pending()
    clock.advance_to(T0 + 120)
    acked = step(dispatcher, order, OrderStatus.ACKNOWLEDGED, "gw-zhang", note="calling her now")
    assert (acked.status, acked.acknowledged_at) == (OrderStatus.ACKNOWLEDGED, T0 + 120)
    clock.advance_to(T0 + 100_000)
    assert dispatcher.escalate_due() == []
    assert dispatcher.store.get(order.order_id).assignee == "gw-zhang"


def test_ack_by_the_leader_after_escalation_stops_it_there(
    dispatcher: Dispatcher, clock: ManualClock
) -> None:
    (order,) = dispatcher.handle([opened()])
    clock.advance_to(T0 + 900)
    dispatcher.escalate_due()
    step(dispatcher, order, OrderStatus.ACKNOWLEDGED, "gl-li")
    clock.advance_to(T0 + 100_000)
    assert dispatcher.escalate_due() == []
    assert dispatcher.store.get(order.order_id).escalation_level == 1


# -- people ------------------------------------------------------------------------


def test_the_visit_closes_the_loop_with_clock_times(
    dispatcher: Dispatcher, clock: ManualClock
) -> None:
    (order,) = dispatcher.handle([opened()])
    dispatcher.deliver_pending()
    clock.advance_to(T0 + 60)
    step(dispatcher, order, OrderStatus.ACKNOWLEDGED, "gw-zhang")
    clock.advance_to(T0 + 1200)
    step(dispatcher, order, OrderStatus.ONSITE, "gw-zhang", note="at the door")
    clock.advance_to(T0 + 1500)
    done = step(dispatcher, order, OrderStatus.RESOLVED, "gw-zhang",
                "fell, helped up, called daughter", Outcome.ASSISTED)
    assert (done.status, done.outcome, done.resolved_at) == (
        OrderStatus.RESOLVED,
        Outcome.ASSISTED,
        T0 + 1500,
    )
    assert [(e.at, e.actor, e.action) for e in dispatcher.store.ledger(order.order_id)] == [
        (T0, "lifesign", "opened"),
        (T0, "lifesign", "delivered"),
        (T0, "lifesign", "notified"),
        # a worker named by id acts as that roster worker (dispatch.actions.Actor)
        (T0 + 60, "worker:gw-zhang", "acknowledged"),
        (T0 + 1200, "worker:gw-zhang", "onsite"),
        (T0 + 1500, "worker:gw-zhang", "resolved"),
    ]


def test_resolving_requires_an_outcome(dispatcher: Dispatcher) -> None:
    (order,) = dispatcher.handle([opened()])
    step(dispatcher, order, OrderStatus.ACKNOWLEDGED, "gw-zhang")
    with pytest.raises(
        ValueError,
        match=f"Work order {order.order_id} cannot go from acknowledged to resolved: "
        "resolving needs an outcome",
    ):
        step(dispatcher, order, OrderStatus.RESOLVED, "gw-zhang", outcome=None)
    resolved = step(dispatcher, order, OrderStatus.RESOLVED, "gw-zhang", outcome=Outcome.AWAY)
    assert resolved.outcome is Outcome.AWAY


def test_illegal_transitions_raise_with_a_clear_message(dispatcher: Dispatcher) -> None:
    (order,) = dispatcher.handle([opened()])
    with pytest.raises(IllegalTransitionError) as caught:
        step(dispatcher, order, OrderStatus.ONSITE, "gw-zhang")
    assert str(caught.value) == (
        f"Work order {order.order_id} cannot go from open to onsite: "
        "from open it may go to notified, acknowledged"
    )
    step(dispatcher, order, OrderStatus.ACKNOWLEDGED, "gw-zhang")
    with pytest.raises(
        ValueError, match=f"Work order {order.order_id} cannot go from acknowledged to acknowledged"
    ):
        step(dispatcher, order, OrderStatus.ACKNOWLEDGED, "gw-zhang")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"ack_deadline_s": {Tier.RED: 900.0}},
            "ack_deadline_s must give a deadline for every tier, missing yellow, green",
        ),
        (
            {"ack_deadline_s": {**DEADLINES, Tier.GREEN: 0.0}},
            r"ack_deadline_s\[green\] must be > 0 seconds, got 0.0",
        ),
        (
            {"channels": [RecordingChannel(), RecordingChannel()]},
            "channel names must be unique, got recording more than once",
        ),
    ],
)
def test_bad_settings_are_refused(
    store: DispatchStore,
    registry: Registry,
    roster: Roster,
    clock: ManualClock,
    kwargs: dict,
    message: str,
) -> None:  # type: ignore[type-arg]
    settings = {"channels": [RecordingChannel()], "ack_deadline_s": DEADLINES, **kwargs}
    with pytest.raises(ValueError, match=message):
        Dispatcher(store, registry, roster, settings["channels"], clock, settings["ack_deadline_s"])


def test_a_withdrawn_alert_does_not_claim_usage_resumed(dispatcher: Dispatcher) -> None:
    (order,) = dispatcher.handle([opened()])
    dispatcher.handle([withdrawn()])
    assert dispatcher.store.get(order.order_id).usage_resumed_at is None
