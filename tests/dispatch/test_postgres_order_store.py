"""What only a shared PostgreSQL order store promises: several instances at once on one
database never double an order, a delivery or an escalation step; and the service
migrates the schema itself."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

import psycopg
import pytest

from dispatch.orderstores import IllegalEscalationError
from dispatch.orderstores.base import Delivery
from dispatch.orderstores.postgres import MIGRATIONS, PostgresWorkOrderStore
from lifesign.alerts import EpisodeKey

pytestmark = pytest.mark.postgres

T0 = 1_763_700_000.0
EVIDENCE = {"confirmed_silence_s": 46_800.0}
R = TypeVar("R")


@pytest.fixture
def instances(postgres_dsn: str) -> Iterator[list[PostgresWorkOrderStore]]:
    """Two stores on one database, each with its own pool: two lifesign instances."""
    stores = [PostgresWorkOrderStore(postgres_dsn) for _ in range(2)]
    yield stores
    for store in stores:
        store.close()


def _together(calls: list[Callable[[], R]]) -> list[R]:
    """Run the calls on threads released at the same moment; re-raise the first error."""
    start = threading.Barrier(len(calls))
    results: list[R | None] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        start.wait()
        try:
            results[i] = calls[i]()
        except BaseException as e:  # noqa: BLE001 - handed to the test thread
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    if errors:
        raise errors[0]
    return results  # type: ignore[return-value]


def test_two_instances_opening_the_same_episodes_make_each_order_once(
    instances: list[PostgresWorkOrderStore],
) -> None:
    keys = [EpisodeKey(f"H{i:04d}", "no_usage", T0 - 50_000.0) for i in range(40)]

    def open_all(store: PostgresWorkOrderStore) -> Callable[[], list[bool]]:
        return lambda: [store.open_order(k, "gw-zhang", "red", T0, EVIDENCE)[1] for k in keys]

    a, b = _together([open_all(s) for s in instances])
    assert [x + y for x, y in zip(a, b, strict=True)] == [1] * len(keys)  # exactly one created each
    assert len(instances[0].list()) == len(keys)
    assert [e.action for e in instances[1].ledger()].count("opened") == len(keys)


def test_joining_instances_with_different_episode_starts_open_one_order(
    instances: list[PostgresWorkOrderStore],
) -> None:
    # the overlap: each instance saw the silence start at a slightly different reading
    homes = [f"H{i:04d}" for i in range(30)]

    def open_all(store: PostgresWorkOrderStore, start: float) -> Callable[[], list[int]]:
        return lambda: [store.open_order(EpisodeKey(h, "no_usage", start), "gw-zhang", "red", T0,
                                         EVIDENCE, join_active=True)[0].order_id for h in homes]

    a, b = _together([open_all(instances[0], T0 - 50_000.0), open_all(instances[1], T0 - 49_100.0)])
    assert a == b
    assert len(instances[0].list()) == len(homes)


def test_two_deliverers_never_claim_the_same_row(instances: list[PostgresWorkOrderStore]) -> None:
    store = instances[0]
    for i in range(20):
        order, _ = store.open_order(EpisodeKey(f"H{i:04d}", "no_usage", T0), "gw", "red", T0, EVIDENCE)
        store.enqueue([Delivery(order.order_id, ch, "gw", 0, {"n": i}) for ch in ("mqtt", "console")], T0)

    def deliverer(s: PostgresWorkOrderStore) -> Callable[[], list[int]]:
        def drain() -> list[int]:
            claimed: list[int] = []
            while batch := s.claim_due(T0 + 1, {"mqtt", "console"}, lease_s=600, limit=3):
                claimed += [d.delivery_id for d in batch]
                for d in batch:
                    assert s.mark_delivered(d.delivery_id, T0 + 2)
            return claimed
        return drain

    a, b = _together([deliverer(s) for s in instances])
    assert not set(a) & set(b)
    assert sorted(a + b) == sorted(d.delivery_id for d in store.deliveries())
    assert [e.action for e in store.ledger()].count("delivered") == 40


def test_a_row_locked_by_a_claimer_is_skipped_not_waited_for(
    instances: list[PostgresWorkOrderStore], postgres_dsn: str,
) -> None:
    store = instances[0]
    order, _ = store.open_order(EpisodeKey("H0001", "no_usage", T0), "gw", "red", T0, EVIDENCE)
    store.enqueue([Delivery(order.order_id, "mqtt", "gw", 0), Delivery(order.order_id, "mqtt", "gl", 0)], T0)
    first = store.deliveries()[0].delivery_id
    with psycopg.connect(postgres_dsn) as holder:  # a deliverer mid-claim, not yet committed
        holder.execute("SELECT 1 FROM outbox WHERE delivery_id = %s FOR UPDATE", (first,))
        claimed = instances[1].claim_due(T0, {"mqtt"}, lease_s=60)
        assert [d.delivery_id for d in claimed] == [first + 1]


def test_racing_escalations_from_the_same_level_move_the_order_once(
    instances: list[PostgresWorkOrderStore],
) -> None:
    orders = [instances[0].open_order(EpisodeKey(f"H{i:04d}", "no_usage", T0), "gw", "red", T0,
                                      EVIDENCE)[0] for i in range(20)]

    def escalate_all(store: PostgresWorkOrderStore, who: str) -> Callable[[], int]:
        def run() -> int:
            moved = 0
            for order in orders:
                try:
                    store.escalate(order.order_id, 1, who, T0 + 900, from_level=0)
                    moved += 1
                except IllegalEscalationError:
                    pass
            return moved
        return run

    a, b = _together([escalate_all(instances[0], "gl-li"), escalate_all(instances[1], "gl-wang")])
    assert a + b == len(orders)
    assert [e.action for e in instances[0].ledger()].count("escalated") == len(orders)
    assert {o.escalation_level for o in instances[1].list()} == {1}


def test_the_service_creates_the_schema_and_records_its_version(postgres_dsn: str) -> None:
    PostgresWorkOrderStore(postgres_dsn).close()
    PostgresWorkOrderStore(postgres_dsn).close()  # a restart migrates nothing twice
    with psycopg.connect(postgres_dsn) as conn:
        rows = conn.execute("SELECT component, version FROM schema_version").fetchall()
    assert rows == [("orders", len(MIGRATIONS))]


def test_two_instances_starting_at_once_migrate_once(postgres_dsn: str) -> None:
    stores = _together([lambda: PostgresWorkOrderStore(postgres_dsn) for _ in range(3)])
    for store in stores:
        store.close()


def test_a_newer_schema_is_refused_naming_both_versions(postgres_dsn: str) -> None:
    PostgresWorkOrderStore(postgres_dsn).close()
    with psycopg.connect(postgres_dsn) as conn:
        conn.execute("UPDATE schema_version SET version = 99 WHERE component = 'orders'")
    with pytest.raises(ValueError, match="PostgreSQL orders schema version is 99, this lifesign "
                                         f"understands up to {len(MIGRATIONS)}"):
        PostgresWorkOrderStore(postgres_dsn)


def test_the_ledger_is_append_only(instances: list[PostgresWorkOrderStore], postgres_dsn: str) -> None:
    instances[0].open_order(EpisodeKey("H0001", "no_usage", T0), "gw", "red", T0, EVIDENCE)
    with psycopg.connect(postgres_dsn) as conn:
        with pytest.raises(psycopg.errors.RaiseException, match="lines cannot be changed"):
            conn.execute("UPDATE ledger SET note = 'rewritten'")
        conn.rollback()
        with pytest.raises(psycopg.errors.RaiseException, match="lines cannot be deleted"):
            conn.execute("DELETE FROM ledger")
