"""Shared fixtures of the dispatch tests: a small grid, its roster, stores, a real mosquitto."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol, TypeVar

import pytest
from dispatch_grid import HOUSEHOLDS, ROSTER_YAML, T0

from dispatch.mutes.base import MuteStore
from dispatch.mutes.postgres import PostgresMuteStore
from dispatch.mutes.store import SqliteMuteStore
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


class _Closing(Protocol):
    def close(self) -> None: ...


S = TypeVar("S", bound=_Closing)


def _reopening(request: pytest.FixtureRequest,
               openers: dict[str, Callable[[str], S]]) -> Iterator[Callable[[], S]]:
    """A factory that opens the parameter's store again on every call (given the DSN of
    the test's PostgreSQL database, for the PostgreSQL case only); all are closed when the
    test ends."""
    # only the PostgreSQL case starts the (session's) server
    dsn = request.getfixturevalue("postgres_dsn") if request.param == "postgres" else ""
    opened: list[S] = []

    def make() -> S:
        opened.append(openers[request.param](dsn))
        return opened[-1]

    yield make
    for store in opened:
        store.close()


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_factory(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[[], DispatchStore]]:
    """Makes a store; for SQLite and PostgreSQL every call opens the same database again
    (a restart, or a second instance beside the first)."""
    memory = MemoryWorkOrderStore()
    yield from _reopening(request, {
        "memory": lambda _: memory,
        "sqlite": lambda _: SqliteWorkOrderStore(tmp_path / "orders.sqlite"),
        "postgres": PostgresWorkOrderStore,
    })


@pytest.fixture
def store(store_factory: Callable[[], DispatchStore]) -> DispatchStore:
    return store_factory()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def mute_store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], MuteStore]]:
    """Every call opens the same database again: a restart, the CLI, or another instance."""
    yield from _reopening(request, {
        "sqlite": lambda _: SqliteMuteStore(tmp_path / "mutes.sqlite"),
        "postgres": PostgresMuteStore,
    })


@pytest.fixture
def mutes(mute_store_factory: Callable[[], MuteStore]) -> MuteStore:
    return mute_store_factory()


@pytest.fixture
def mosquitto(mosquitto_port: int) -> int:
    """The shared real mosquitto (tests/conftest.py), under the name these tests use."""
    return mosquitto_port
