"""Work orders, their ledger and the delivery outbox in one SQLite file.

The service thread and a CLI process (ack, resolve) use the same file at once
(:mod:`dispatch.sqlite`: WAL, one ``BEGIN IMMEDIATE`` transaction per change); the
queries are :mod:`dispatch.orderstores.sql`'s. UNIQUE(household_id, rule, episode_start)
is the exactly-once guarantee; triggers keep the ledger append-only.
"""

from __future__ import annotations

from pathlib import Path

from dispatch.orderstores.sql import SqlWorkOrderStore
from dispatch.sqlite import BUSY_TIMEOUT_S, SQLITE, SqliteFile

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    order_id         INTEGER PRIMARY KEY AUTOINCREMENT,
    household_id     TEXT    NOT NULL,
    rule             TEXT    NOT NULL,
    episode_start    REAL    NOT NULL,
    assignee         TEXT    NOT NULL,
    tier             TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    opened_at        REAL    NOT NULL,
    escalation_level INTEGER NOT NULL DEFAULT 0,
    acknowledged_at  REAL,
    resolved_at      REAL,
    outcome          TEXT,
    usage_resumed_at REAL,
    evidence         TEXT    NOT NULL DEFAULT '{}',
    responsible      TEXT    NOT NULL DEFAULT '',
    UNIQUE (household_id, rule, episode_start)
);
CREATE INDEX IF NOT EXISTS orders_by_status ON orders (status);
CREATE INDEX IF NOT EXISTS orders_by_household ON orders (household_id, rule);

CREATE TABLE IF NOT EXISTS ledger (
    entry_id INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id INTEGER NOT NULL REFERENCES orders (order_id),
    at       REAL    NOT NULL,
    actor    TEXT    NOT NULL,
    action   TEXT    NOT NULL,
    note     TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS ledger_by_order ON ledger (order_id, entry_id);
CREATE TRIGGER IF NOT EXISTS ledger_no_update BEFORE UPDATE ON ledger
    BEGIN SELECT RAISE(ABORT, 'the ledger is append-only: lines cannot be changed'); END;
CREATE TRIGGER IF NOT EXISTS ledger_no_delete BEFORE DELETE ON ledger
    BEGIN SELECT RAISE(ABORT, 'the ledger is append-only: lines cannot be deleted'); END;

CREATE TABLE IF NOT EXISTS outbox (
    delivery_id      INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id         INTEGER NOT NULL REFERENCES orders (order_id),
    channel          TEXT    NOT NULL,
    recipient        TEXT    NOT NULL,
    escalation_level INTEGER NOT NULL,
    payload          TEXT    NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  REAL    NOT NULL,
    delivered_at     REAL,
    abandoned_at     REAL,
    last_error       TEXT    NOT NULL DEFAULT '',
    UNIQUE (order_id, channel, recipient, escalation_level)
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (next_attempt_at)
    WHERE delivered_at IS NULL AND abandoned_at IS NULL;
"""


class SqliteWorkOrderStore(SqlWorkOrderStore):
    def __init__(self, path: str | Path, busy_timeout_s: float = BUSY_TIMEOUT_S) -> None:
        self.path = Path(path)
        super().__init__(SqliteFile(self.path, "order store", _SCHEMA, SCHEMA_VERSION,
                                    busy_timeout_s=busy_timeout_s, foreign_keys=True), SQLITE)
