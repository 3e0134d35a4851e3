"""One SQLite file shared by the service's threads and a CLI process: the order store
and the mute store both stand on it.

WAL lets readers run beside the writer; every change is one short ``BEGIN IMMEDIATE``
transaction (a read-check-write cannot interleave with another process's), and
``busy_timeout`` makes a writer wait its turn instead of failing. ``synchronous=FULL``:
a confirmed order, delivery or mute decision survives power loss, not only kill -9;
they are few. The file holds residents' names and whereabouts, so only its owner may
read it (0600; SQLite gives the -wal and -shm files the same mode).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

from dispatch.sql import Dialect, placeholders

FILE_MODE = 0o600
BUSY_TIMEOUT_S = 10.0

#: JSON as text; no row locks or named locks: a ``BEGIN IMMEDIATE`` writer is the only one
SQLITE = Dialect("sqlite", "?", json=lambda value: orjson.dumps(value).decode())


class SqliteFile:
    """A connection to one file with its schema in place, shared by the threads of one
    process under a lock; autocommit (``isolation_level=None``) so every transaction is
    explicit."""

    def __init__(self, path: str | Path, what: str, schema: str, schema_version: int, *,
                 busy_timeout_s: float = BUSY_TIMEOUT_S, foreign_keys: bool = False) -> None:
        self.path = Path(path)
        _create_private(self.path)
        self._conn = sqlite3.connect(str(self.path), timeout=busy_timeout_s, isolation_level=None,
                                     check_same_thread=False)
        self._lock = threading.RLock()
        self._conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = FULL")
        if foreign_keys:
            self._conn.execute("PRAGMA foreign_keys = ON")
        with self.transaction() as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > schema_version:
                raise ValueError(f"{self.path}: {what} schema version is {version}, "
                                 f"this lifesign understands up to {schema_version}")
            for statement in split_statements(schema):
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {schema_version}")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: committed when the block ends, rolled back if it raises."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def read_one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        with self._lock:
            row: tuple[Any, ...] | None = self._conn.execute(sql, params).fetchone()
            return row

    def version(self) -> tuple[int, int]:
        """Changes whenever anything was written, by this connection or another process."""
        with self._lock:
            return int(self._conn.execute("PRAGMA data_version").fetchone()[0]), self._conn.total_changes

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def split_statements(script: str) -> list[str]:
    """Statements of a schema script (a trigger holds ';' inside BEGIN ... END).

    >>> split_statements("CREATE TABLE t (a);\\nCREATE TRIGGER x BEFORE DELETE ON t\\n"
    ...                  "    BEGIN SELECT RAISE(ABORT, 'no'); END;")  # doctest: +NORMALIZE_WHITESPACE
    ['CREATE TABLE t (a);', "CREATE TRIGGER x BEFORE DELETE ON t\\n    BEGIN SELECT RAISE(ABORT, 'no'); END;"]
    """
    statements, current = [], ""
    for line in script.strip().splitlines():
        current += line + "\n"
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    return statements


def _create_private(path: Path) -> None:
    # created here, not by sqlite3.connect, so it never exists with the umask's wider mode
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
    except PermissionError:
        return  # sqlite3 says what is wrong with the file, naming it
    try:
        if os.fstat(fd).st_mode & 0o777 != FILE_MODE:
            os.fchmod(fd, FILE_MODE)  # a file an older lifesign made with the umask's mode
    except PermissionError:
        pass  # another user's file we may write to: its mode is theirs to set
    finally:
        os.close(fd)


__all__ = ["BUSY_TIMEOUT_S", "FILE_MODE", "SQLITE", "SqliteFile", "placeholders", "split_statements"]
