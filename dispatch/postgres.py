"""One PostgreSQL database shared by several lifesign instances: the order store and the
mute store both stand on it (the server-side sibling of :mod:`dispatch.sqlite`).

A psycopg 3 connection pool serves the service's threads; every change is one short
transaction (``READ COMMITTED``, PostgreSQL's default) whose read-check-write is made
safe by row locks (``SELECT ... FOR UPDATE``), unique keys (``ON CONFLICT``) and
``FOR UPDATE SKIP LOCKED`` claims, never by a lock in this process: the other writer
may be another machine.

The schema belongs to the service: each store names its component and a list of
migrations; :meth:`PostgresDatabase.migrate` applies the ones a ``schema_version`` row
has not seen, under a transaction-scoped advisory lock so two instances starting at
once do not both migrate. Migration 1 is the schema of the first release.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import orjson
import psycopg
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from dispatch.sql import Dialect

#: how long a caller waits for a free pooled connection, and the pool for its first one
CONNECT_TIMEOUT_S = 10.0
POOL_MAX_SIZE = 8

#: the other writer may be another machine: rows and names are locked in the server
POSTGRES = Dialect(
    "postgresql", "%s",
    json=lambda value: Jsonb(value, dumps=orjson.dumps),
    for_update=" FOR UPDATE",
    skip_locked=" FOR UPDATE SKIP LOCKED",
    hold="SELECT pg_advisory_xact_lock(hashtextextended(?, 0))",
    returning=True,
)

_VERSIONS = """
CREATE TABLE IF NOT EXISTS schema_version (
    component  TEXT    PRIMARY KEY,
    version    INTEGER NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)
"""


class PostgresDatabase:
    """A pool of connections to one database whose ``component`` schema is migrated."""

    def __init__(self, dsn: str, component: str, migrations: Sequence[str], *,
                 max_size: int = POOL_MAX_SIZE, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
        self.component = component
        # autocommit off: every `with transaction()` block is exactly one transaction
        self._pool = ConnectionPool(dsn, min_size=1, max_size=max_size, timeout=timeout_s,
                                    kwargs={"autocommit": False}, open=False,
                                    name=f"lifesign-{component}")
        self._pool.open()
        try:
            self._pool.wait(timeout=timeout_s)
            self.migrate(migrations)
        except BaseException:
            self._pool.close()
            raise

    def migrate(self, migrations: Sequence[str]) -> int:
        """Apply the migrations past the stored version, in one transaction; returns the
        version the database is at now."""
        target = len(migrations)
        with self.transaction() as db:
            # one key for every component: they share the schema_version table
            db.execute("SELECT pg_advisory_xact_lock(%s)", (_lock_key("lifesign schema"),))
            db.execute(_VERSIONS)
            row = db.execute("SELECT version FROM schema_version WHERE component = %s",
                             (self.component,)).fetchone()
            current = 0 if row is None else int(row[0])
            if current > target:
                raise ValueError(f"PostgreSQL {self.component} schema version is {current}, "
                                 f"this lifesign understands up to {target}")
            for script in migrations[current:]:
                db.execute(script)
            if current < target:
                db.execute(
                    "INSERT INTO schema_version (component, version) VALUES (%s, %s)"
                    " ON CONFLICT (component) DO UPDATE SET version = EXCLUDED.version,"
                    " applied_at = now()", (self.component, target))
        return target

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Connection[Any]]:
        """One transaction on a pooled connection: committed when the block ends, rolled
        back if it raises."""
        with self._pool.connection() as conn:
            yield conn

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.transaction() as db:
            return db.execute(sql, params).fetchall()

    def read_one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        with self.transaction() as db:
            return db.execute(sql, params).fetchone()

    def close(self) -> None:
        self._pool.close()


def _lock_key(name: str) -> int:
    """A stable 32-bit advisory lock key for a name (Python's hash() changes per process).

    >>> _lock_key("lifesign schema")
    2647924179
    """
    return zlib.crc32(name.encode())


__all__ = ["CONNECT_TIMEOUT_S", "POOL_MAX_SIZE", "POSTGRES", "PostgresDatabase"]
