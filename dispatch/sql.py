"""One SQL text for the dispatch stores on SQLite and on PostgreSQL.

A store writes each query once, with ``?`` placeholders and the SQL both databases
speak (``INSERT ... ON CONFLICT (...) DO NOTHING``, ``<>``, ``IN (...)``). A
:class:`Dialect` says the rest: the driver's placeholder, how a JSON value is bound,
which rows a transaction locks (``FOR UPDATE``, ``SKIP LOCKED``), how it holds a named
lock and how an insert hands back the new row's id. SQLite needs none of the locks:
``BEGIN IMMEDIATE`` lets one writer in at a time, which covers every row and name.

Connections and transactions stay with each database (:mod:`dispatch.sqlite`,
:mod:`dispatch.postgres`); this module imports neither driver, so a site on SQLite
never loads psycopg.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

import orjson

from lifesign.alerts import EpisodeKey


@dataclass(frozen=True)
class Dialect:
    name: str
    #: the driver's placeholder for one parameter: "?" (sqlite3) or "%s" (psycopg)
    placeholder: str
    #: binds a JSON-able value to a JSON column
    json: Callable[[Any], Any]
    #: ends a SELECT of rows the transaction is about to change: others wait for them
    for_update: str = ""
    #: ends a claim's SELECT: rows another transaction is claiming are passed over
    skip_locked: str = ""
    #: a statement taking a lock on a name (its one parameter) until the transaction ends
    hold: str | None = None
    #: an INSERT hands back the new row with RETURNING, not its id as the cursor's lastrowid
    returning: bool = False

    def sql(self, text: str) -> str:
        """The shared SQL as this driver takes it."""
        return _translated(text, self.placeholder)


@lru_cache(maxsize=512)
def _translated(text: str, placeholder: str) -> str:
    """
    >>> _translated("SELECT 1 FROM t WHERE a = ? AND b LIKE '%x'", "%s")
    "SELECT 1 FROM t WHERE a = %s AND b LIKE '%%x'"
    """
    if placeholder == "?":
        return text
    # psycopg reads every % as the start of a placeholder
    return text.replace("%", "%%").replace("?", placeholder)


def placeholders(values: Sequence[Any]) -> str:
    """The inside of ``IN (...)`` for these values; NULL, which nothing equals, for none
    (PostgreSQL refuses an empty list).

    >>> placeholders(["open", "notified"]), placeholders([])
    ('?, ?', 'NULL')
    """
    return ", ".join("?" * len(values)) or "NULL"


def json_column(value: str | dict[str, Any]) -> dict[str, Any]:
    """SQLite keeps JSON as text; psycopg hands a PostgreSQL ``jsonb`` over already parsed.

    >>> json_column('{"a": 1.5}') == json_column({"a": 1.5}) == {"a": 1.5}
    True
    """
    return orjson.loads(value) if isinstance(value, str) else value


Row = tuple[Any, ...]


@dataclass(frozen=True)
class Table:
    """A table whose rows the database numbers, as a store selects them."""

    name: str
    id_column: str
    #: the select list its rows are read with (the stores' ``rows`` modules)
    columns: str

#: where a row is one episode's (orders, the mute stage's alerts), with :func:`episode_params`
EPISODE = "household_id = ? AND rule = ? AND episode_start = ?"


def episode_params(key: EpisodeKey) -> tuple[str, str, float]:
    return key.household_id, key.rule, key.episode_start


class SqlDatabase(Protocol):
    """What :class:`dispatch.sqlite.SqliteFile` and :class:`dispatch.postgres.PostgresDatabase`
    both offer: transactions on a driver connection, and reads outside them."""

    def transaction(self) -> AbstractContextManager[Any]: ...

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...

    def read_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None: ...

    def close(self) -> None: ...


class Transaction:
    """One open transaction, taking the shared SQL."""

    def __init__(self, connection: Any, dialect: Dialect) -> None:
        self._conn = connection
        self._dialect = dialect

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Runs a change; returns how many rows it changed."""
        return int(self._conn.execute(self._dialect.sql(sql), params).rowcount)

    def one(self, sql: str, params: Sequence[Any] = (), *, lock: bool = False) -> Row | None:
        """The first row; ``lock``: and keep other writers off it until the transaction ends."""
        suffix = self._dialect.for_update if lock else ""
        row: Row | None = self._conn.execute(self._dialect.sql(sql + suffix), params).fetchone()
        return row

    def all(self, sql: str, params: Sequence[Any] = (), *, claim: bool = False) -> list[Row]:
        """Every row; ``claim``: lock them, passing over rows another transaction holds."""
        suffix = self._dialect.skip_locked if claim else ""
        rows: list[Row] = self._conn.execute(self._dialect.sql(sql + suffix), params).fetchall()
        return rows

    def insert(self, table: Table, names: str, values: Sequence[Any], conflict: str = "") -> Row | None:
        """Inserts one row (``names``: its columns given ``values``); the row as stored, or
        None when ``conflict`` (an ``ON CONFLICT ... DO NOTHING``) kept it out."""
        sql = f"INSERT INTO {table.name} ({names}) VALUES ({placeholders(values)}){conflict}"
        if self._dialect.returning:
            return self.one(f"{sql} RETURNING {table.columns}", values)
        cursor = self._conn.execute(self._dialect.sql(sql), values)
        if cursor.rowcount != 1:
            return None
        return self.one(f"SELECT {table.columns} FROM {table.name} WHERE {table.id_column} = ?",
                        (cursor.lastrowid,))

    def hold(self, name: str) -> None:
        """Until the transaction ends, another one holding the same name waits here."""
        if self._dialect.hold is not None:
            self.run(self._dialect.hold, (name,))

    def json(self, value: Any) -> Any:
        return self._dialect.json(value)


class SqlStore:
    """A store on one :class:`SqlDatabase`: its queries are written once, in the shared SQL."""

    def __init__(self, db: SqlDatabase, dialect: Dialect) -> None:
        self._db = db
        self._dialect = dialect

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[Transaction]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        with self._db.transaction() as connection:
            yield Transaction(connection, self._dialect)

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return self._db.read(self._dialect.sql(sql), params)

    def _one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        return self._db.read_one(self._dialect.sql(sql), params)


__all__ = ["EPISODE", "Dialect", "Row", "SqlDatabase", "SqlStore", "Table", "Transaction", "episode_params",
           "json_column", "placeholders"]
