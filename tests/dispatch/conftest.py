"""Shared fixtures of the dispatch tests: a small grid, its roster, stores, a real mosquitto."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from dispatch.orderstores import MemoryWorkOrderStore, SqliteWorkOrderStore
from dispatch.orderstores.base import DispatchStore
from lifesign.clock import ManualClock
from lifesign.grid import Address, Household, Meter, Resident, Tier, Utility
from lifesign.registry import Registry
from lifesign.roster import Roster

T0 = 1_763_700_000.0  # 2025-11-21 04:40 UTC: 12:40 in UTC+8

ROSTER_YAML = """
workers:
  - id: gw-zhang
    name: Zhang Wei
    role: grid_worker
    phone: "+86 138 0000 0001"
    buildings: [B001, B002]
  - id: gw-zhao
    name: Zhao Min
    role: grid_worker
    phone: "+86 138 0000 0004"
    buildings: [B003]
  - id: gl-li
    name: Li Na
    role: grid_leader
    phone: "+86 138 0000 0002"
    grids: [G01]
  - id: desk-c1
    name: Community C1 duty desk
    role: duty_desk
    phone: "+86 21 0000 0000"
    communities: [C1]
"""


def _household(
    hid: str, grid: str, building: str, name: str, age: int, tier: Tier, community: str = "C1"
) -> Household:
    return Household(
        hid,
        Address(community, grid, building, "2", "301"),
        Resident(name, age, f"+86 139 {hid}", f"{name} Jr. +86 137 0000 {hid[-4:]}"),
        tier,
    )


HOUSEHOLDS = [
    _household("H0001", "G01", "B001", "Wang Fang", 82, Tier.RED),
    _household("H0002", "G01", "B002", "Chen Jie", 76, Tier.YELLOW),
    # grid G02 has no leader: its chain is grid worker → duty desk
    _household("H0003", "G02", "B003", "Liu Yang", 69, Tier.GREEN),
    # building B009 is covered by nobody below the desk
    _household("H0009", "G09", "B009", "Sun Li", 90, Tier.RED),
    # community C2 is in nobody's roster
    _household("H0010", "G20", "B020", "Zhou Hua", 88, Tier.RED, community="C2"),
]


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
