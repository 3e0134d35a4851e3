"""Shared fixtures of the dispatch tests: a small grid, its roster, stores, a real mosquitto."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from dispatch_grid import HOUSEHOLDS, ROSTER_YAML, T0

from dispatch.orderstores import MemoryWorkOrderStore, SqliteWorkOrderStore
from dispatch.orderstores.base import DispatchStore
from dispatch.orderstores.postgres import PostgresWorkOrderStore
from lifesign.clock import ManualClock
from lifesign.grid import Meter, Utility
from lifesign.registry import Registry
from lifesign.roster import Roster


@pytest.fixture
def registry() -> Registry:
    meters = [
        Meter(f"{u.value[0].upper()}-{h.household_id}", h.household_id, u, "GW1")
        for h in HOUSEHOLDS
        for u in (Utility.WATER, Utility.ELECTRICITY)
    ]
    return Registry.from_records(HOUSEHOLDS, meters)


@pytest.fixture
def roster() -> Roster:
    return Roster.parse(ROSTER_YAML)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_factory(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[[], DispatchStore]]:
    """Makes a store; for SQLite and PostgreSQL every call opens the same database again
    (a restart, or a second instance beside the first)."""
    opened: list[DispatchStore] = []
    memory = MemoryWorkOrderStore()
    # only the PostgreSQL case starts the (session's) server
    dsn = request.getfixturevalue("postgres_dsn") if request.param == "postgres" else ""

    def make() -> DispatchStore:
        store: DispatchStore
        if request.param == "memory":
            store = memory
        elif request.param == "sqlite":
            store = SqliteWorkOrderStore(tmp_path / "orders.sqlite")
        else:
            store = PostgresWorkOrderStore(dsn)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


@pytest.fixture
def store(store_factory: Callable[[], DispatchStore]) -> DispatchStore:
    return store_factory()


@pytest.fixture
def mosquitto(mosquitto_port: int) -> int:
    """The shared real mosquitto (tests/conftest.py), under the name these tests use."""
    return mosquitto_port
