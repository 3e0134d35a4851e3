"""Shared fixtures of the dispatch tests: a small grid, its roster, stores, a real mosquitto."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from dispatch_grid import HOUSEHOLDS, ROSTER_YAML, T0

from dispatch.orderstores import MemoryWorkOrderStore, SqliteWorkOrderStore
from dispatch.orderstores.base import DispatchStore
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


@pytest.fixture(params=["memory", "sqlite"])
def store_factory(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[[], DispatchStore]]:
    """Makes a store; for SQLite every call opens the same file again (a restart)."""
    opened: list[DispatchStore] = []
    memory = MemoryWorkOrderStore()

    def make() -> DispatchStore:
        store: DispatchStore = (
            memory
            if request.param == "memory"
            else SqliteWorkOrderStore(tmp_path / "orders.sqlite")
        )
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
