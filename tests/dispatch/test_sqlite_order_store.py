"""What only the SQLite store promises: one file shared by processes, an append-only ledger."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from dispatch.orderstores import SqliteWorkOrderStore
from lifesign.alerts import EpisodeKey
from lifesign.workorders import OrderStatus

T0 = 1_763_700_000.0
KEY = EpisodeKey("H0001", "no_usage", T0 - 50_000.0)


def test_the_file_is_in_wal_mode(tmp_path: Path) -> None:
    SqliteWorkOrderStore(tmp_path / "o.sqlite").close()
    with sqlite3.connect(tmp_path / "o.sqlite") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_the_ledger_is_append_only(tmp_path: Path) -> None:
    store = SqliteWorkOrderStore(tmp_path / "o.sqlite")
    store.open_order(KEY, "gw-zhang", "red", T0, {})
    store.close()
    db = sqlite3.connect(tmp_path / "o.sqlite")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("UPDATE ledger SET note = 'rewritten'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("DELETE FROM ledger")
    db.close()


def test_the_episode_key_is_unique_in_the_schema_itself(tmp_path: Path) -> None:
    store = SqliteWorkOrderStore(tmp_path / "o.sqlite")
    store.open_order(KEY, "gw-zhang", "red", T0, {})
    store.close()
    with (
        sqlite3.connect(tmp_path / "o.sqlite") as db,
        pytest.raises(sqlite3.IntegrityError, match="UNIQUE"),
    ):
        db.execute(
            "INSERT INTO orders (household_id, rule, episode_start, assignee, tier, status,"
            " opened_at) VALUES (?, ?, ?, 'x', 'red', 'open', 0)",
            (KEY.household_id, KEY.rule, KEY.episode_start),
        )


def test_a_newer_schema_is_refused_with_its_version(tmp_path: Path) -> None:
    SqliteWorkOrderStore(tmp_path / "o.sqlite").close()
    with sqlite3.connect(tmp_path / "o.sqlite") as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(ValueError, match="schema version is 99, this lifesign understands up to 1"):
        SqliteWorkOrderStore(tmp_path / "o.sqlite")


def test_many_connections_opening_the_same_episode_make_one_order(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite"
    SqliteWorkOrderStore(path).close()
    stores = [SqliteWorkOrderStore(path) for _ in range(8)]
    created: list[bool] = []
    start = threading.Barrier(len(stores))

    def race(store: SqliteWorkOrderStore) -> None:
        start.wait()
        for i in range(20):
            created.append(
                store.open_order(EpisodeKey("H0001", "no_usage", T0 + i), "gw", "red", T0, {})[1]
            )

    threads = [threading.Thread(target=race, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert created.count(True) == 20
    assert len(stores[0].list()) == 20
    assert len(stores[0].ledger()) == 20
    for s in stores:
        s.close()


_CLI_ACK = """
import sys
from dispatch.orderstores import SqliteWorkOrderStore
from lifesign.workorders import OrderStatus
store = SqliteWorkOrderStore(sys.argv[1])
order_id, at = int(sys.argv[2]), 1763700100.0
store.transition(order_id, OrderStatus.ACKNOWLEDGED, at, "gw-zhang", note="from the CLI")
store.close()
"""


def test_another_process_acknowledges_while_the_service_keeps_its_store_open(
    tmp_path: Path,
) -> None:
    path = tmp_path / "o.sqlite"
    service = SqliteWorkOrderStore(path)
    order, _ = service.open_order(KEY, "gw-zhang", "red", T0, {})
    subprocess.run(
        [sys.executable, "-c", _CLI_ACK, str(path), str(order.order_id)], check=True, timeout=60
    )
    seen = service.get(order.order_id)
    assert (seen.status, seen.acknowledged_at) == (OrderStatus.ACKNOWLEDGED, 1763700100.0)
    assert service.ledger(order.order_id)[-1].note == "from the CLI"
    service.close()
