"""The SQLite helper both dispatch stores stand on."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from dispatch.mutes.store import SqliteMuteStore
from dispatch.orderstores import SqliteWorkOrderStore
from dispatch.sqlite import SqliteFile

SCHEMA = "CREATE TABLE IF NOT EXISTS visits (household_id TEXT NOT NULL);"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_file_and_its_wal_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        db = SqliteFile(tmp_path / "orders.sqlite", "order store", SCHEMA, 1)
        with db.transaction() as conn:
            conn.execute("INSERT INTO visits VALUES ('H0001')")
        assert mode(tmp_path / "orders.sqlite") == 0o600
        assert mode(tmp_path / "orders.sqlite-wal") == 0o600
        db.close()
    finally:
        os.umask(old)


def test_a_file_an_older_version_made_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "mutes.sqlite"
    path.touch(mode=0o644)
    os.chmod(path, 0o644)
    SqliteFile(path, "mute store", SCHEMA, 1).close()
    assert mode(path) == 0o600


def test_both_stores_use_it(tmp_path: Path) -> None:
    SqliteWorkOrderStore(tmp_path / "orders.sqlite").close()
    SqliteMuteStore(tmp_path / "mutes.sqlite").close()
    assert {mode(tmp_path / "orders.sqlite"), mode(tmp_path / "mutes.sqlite")} == {0o600}


def test_a_write_that_raises_is_rolled_back(tmp_path: Path) -> None:
    db = SqliteFile(tmp_path / "x.sqlite", "order store", SCHEMA, 1)
    with pytest.raises(RuntimeError), db.transaction() as conn:
        conn.execute("INSERT INTO visits VALUES ('H0001')")
        raise RuntimeError("crash mid-transaction")
    assert db.read("SELECT COUNT(*) FROM visits") == [(0,)]
    db.close()


def test_a_newer_schema_is_refused_naming_the_file_and_both_versions(tmp_path: Path) -> None:
    SqliteFile(tmp_path / "x.sqlite", "order store", SCHEMA, 3).close()
    with pytest.raises(ValueError, match=r"x\.sqlite: order store schema version is 3, "
                                         r"this lifesign understands up to 1"):
        SqliteFile(tmp_path / "x.sqlite", "order store", SCHEMA, 1)


def test_version_changes_when_another_connection_writes(tmp_path: Path) -> None:
    service = SqliteFile(tmp_path / "x.sqlite", "mute store", SCHEMA, 1)
    cli = SqliteFile(tmp_path / "x.sqlite", "mute store", SCHEMA, 1)
    before = service.version()
    assert service.version() == before
    with cli.transaction() as conn:
        conn.execute("INSERT INTO visits VALUES ('H0001')")
    assert service.version() != before
    service.close()
    cli.close()
