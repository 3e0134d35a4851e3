"""The dispatch chain: which stages a site's chain has, and what one alert costs the order store."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dispatch_grid import HOUSEHOLDS

from dispatch.channels import RecordingChannel
from dispatch.defaults import ack_deadlines_s
from dispatch.dispatcher import Dispatcher
from dispatch.mutes.muters import AbsenceMuter, OutageMuter
from dispatch.mutes.stage import MuteStage
from dispatch.mutes.store import SqliteMuteStore
from dispatch.mutes.storm import StormGuard, StormSettings
from dispatch.orderstores import SqliteWorkOrderStore
from lifesign.alerts import Alert, AlertState, EpisodeKey, Severity
from lifesign.clock import ManualClock
from lifesign.registry import Registry
from lifesign.roster import Roster

#: the store calls that read an order (or open it, reading it in the same transaction)
ORDER_READS = frozenset({"open_order", "find", "active_for", "get", "list", "ledger"})


class CountingStore:
    """The real SQLite order store, counting every call at the I/O boundary."""

    def __init__(self, store: SqliteWorkOrderStore) -> None:
        self._store = store
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._store, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return method(*args, **kwargs)

        return counted

    def order_reads(self) -> int:
        return sum(n for name, n in self.calls.items() if name in ORDER_READS)


def silent(household_id: str, at: float) -> Alert:
    return Alert(EpisodeKey(household_id, "no_usage", at - 50_000), AlertState.OPENED, at,
                 {"confirmed_silence_s": 50_000.0, "threshold_s": 43_200.0}, Severity.CRITICAL,
                 ("electricity", "water"))


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[tuple[CountingStore, SqliteMuteStore]]:
    orders, mutes = SqliteWorkOrderStore(tmp_path / "orders.sqlite"), SqliteMuteStore(tmp_path / "mutes.sqlite")
    yield CountingStore(orders), mutes
    orders.close()
    mutes.close()


def service_shaped(stores: tuple[CountingStore, SqliteMuteStore], registry: Registry, roster: Roster,
                   clock: ManualClock) -> Dispatcher:
    """As the service wires it: absences, outages and the storm guard."""
    orders, mutes = stores
    guard = StormGuard(mutes, registry, StormSettings())
    stage = MuteStage(mutes, [AbsenceMuter(mutes), OutageMuter(mutes)], guard)
    return Dispatcher(orders, registry, roster, [RecordingChannel()], clock,  # type: ignore[arg-type]
                      ack_deadlines_s(), mutes=stage)


def test_a_new_alert_reads_or_opens_its_order_once_and_the_batch_enqueues_once(
    stores: tuple[CountingStore, SqliteMuteStore], registry: Registry, roster: Roster, clock: ManualClock,
) -> None:
    d = service_shaped(stores, registry, roster, clock)
    orders = stores[0]
    homes = [h.household_id for h in HOUSEHOLDS]
    created = d.handle([silent(h, clock.now()) for h in homes])
    assert len(created) == len(homes)
    assert orders.order_reads() == len(homes)
    assert (orders.calls["open_order"], orders.calls["enqueue"], orders.calls["deliveries"]) == (len(homes), 1, 0)


def test_a_repeated_alert_finds_its_order_in_the_same_one_call(
    stores: tuple[CountingStore, SqliteMuteStore], registry: Registry, roster: Roster, clock: ManualClock,
) -> None:
    d = service_shaped(stores, registry, roster, clock)
    orders = stores[0]
    alerts = [silent(h.household_id, clock.now()) for h in HOUSEHOLDS]
    d.handle(alerts)
    orders.calls.clear()
    assert d.handle(alerts) == []
    assert orders.order_reads() == len(alerts)
    # an active order's outbox is checked (a crash may have come between open and enqueue)
    assert orders.calls["enqueue"] == 0
    assert orders.calls["deliveries"] == len([h for h in HOUSEHOLDS if h.household_id != "H0010"])


def test_a_pass_without_alerts_reads_no_order(
    stores: tuple[CountingStore, SqliteMuteStore], registry: Registry, roster: Roster, clock: ManualClock,
) -> None:
    d = service_shaped(stores, registry, roster, clock)
    d.handle([silent(h.household_id, clock.now()) for h in HOUSEHOLDS])
    stores[0].calls.clear()
    assert d.review() == []
    assert sum(stores[0].calls.values()) == 0


def test_a_stage_with_nothing_to_do_is_absent_from_the_chain(
    stores: tuple[CountingStore, SqliteMuteStore], registry: Registry, roster: Roster, clock: ManualClock,
) -> None:
    orders, mutes = stores
    bare = Dispatcher(orders, registry, roster, [], clock, ack_deadlines_s())  # type: ignore[arg-type]
    assert repr(bare.chain) == "ResumeStage -> AssignStage -> DedupStage -> EnqueueStage"
    no_guard = Dispatcher(orders, registry, roster, [], clock, ack_deadlines_s(),  # type: ignore[arg-type]
                          mutes=MuteStage(mutes, [AbsenceMuter(mutes)]))
    assert repr(no_guard.chain) == ("MuteStage -> ReleaseStage -> ResumeStage -> AssignStage -> DedupStage"
                                    " -> EnqueueStage")
    full = service_shaped(stores, registry, roster, clock)
    assert repr(full.chain).startswith("MuteStage -> StormStage -> ReleaseStage -> ResumeStage")
