"""Work orders, their ledger and the delivery outbox in one SQLite file.

The service thread and a CLI process (ack, resolve) use the same file at once
(:mod:`dispatch.sqlite`: WAL, one ``BEGIN IMMEDIATE`` transaction per change).
UNIQUE(household_id, rule, episode_start) is the exactly-once guarantee; triggers
keep the ledger append-only.
"""

from __future__ import annotations

import builtins
import sqlite3
from collections.abc import Collection, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson

from dispatch.orderstores.base import Delivery, delivery_note
from dispatch.orderstores.lifecycle import (
    ACTION_DELIVERED,
    ACTION_DELIVERY_ABANDONED,
    ACTION_ESCALATED,
    ACTION_OPENED,
    ACTION_USAGE_RESUMED,
    SYSTEM_ACTOR,
    OrderLookupError,
    apply_escalation,
    apply_transition,
    escalation_note,
)
from dispatch.orderstores.rows import (
    ORDER_COLUMNS,
    OUTBOX_COLUMNS,
    delivery_from_row,
    order_from_row,
)
from dispatch.sqlite import BUSY_TIMEOUT_S, SqliteFile, placeholders
from lifesign.alerts import EpisodeKey
from lifesign.workorders import ACTIVE, LedgerEntry, OrderStatus, Outcome, WorkOrder

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

class SqliteWorkOrderStore:
    def __init__(self, path: str | Path, busy_timeout_s: float = BUSY_TIMEOUT_S) -> None:
        self.path = Path(path)
        self._db = SqliteFile(self.path, "order store", _SCHEMA, SCHEMA_VERSION,
                              busy_timeout_s=busy_timeout_s, foreign_keys=True)
        self._write = self._db.write
        self._read = self._db.read

    # -- orders --------------------------------------------------------------
    def open_order(
        self, key: EpisodeKey, assignee: str, tier: str, at: float, evidence: dict[str, float],
        *, join_active: bool = False,
    ) -> tuple[WorkOrder, bool]:
        with self._write() as db:
            # this episode's order first, else (joining) the oldest active one of the home and rule
            statuses = sorted(s.value for s in ACTIVE) if join_active else []
            existing = _fetch_order(
                db,
                "household_id = ? AND rule = ? AND (episode_start = ?"
                f" OR status IN ({placeholders(statuses)})) ORDER BY episode_start != ?, order_id",
                (key.household_id, key.rule, key.episode_start, *statuses, key.episode_start),
            )
            if existing is not None:
                return existing, False
            cursor = db.execute(
                "INSERT INTO orders (household_id, rule, episode_start, assignee, tier, status,"
                " opened_at, evidence, responsible) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    key.household_id,
                    key.rule,
                    key.episode_start,
                    assignee,
                    tier,
                    OrderStatus.OPEN.value,
                    at,
                    orjson.dumps({k: float(v) for k, v in evidence.items()}).decode(),
                    assignee,
                ),
            )
            order_id = int(cursor.lastrowid or 0)
            _append(db, order_id, at, SYSTEM_ACTOR, ACTION_OPENED, f"assigned to {assignee}")
            order = _fetch_order(db, "order_id = ?", (order_id,))
            assert order is not None
            return order, True

    def get(self, order_id: int) -> WorkOrder:
        order = self._fetch("order_id = ?", (order_id,))
        if order is None:
            raise OrderLookupError(order_id)
        return order

    def find(self, key: EpisodeKey) -> WorkOrder | None:
        return self._fetch(
            "household_id = ? AND rule = ? AND episode_start = ?",
            (key.household_id, key.rule, key.episode_start),
        )

    def active_for(self, household_id: str, rule: str) -> WorkOrder | None:
        statuses = sorted(s.value for s in ACTIVE)
        return self._fetch(
            f"household_id = ? AND rule = ? AND status IN ({placeholders(statuses)}) ORDER BY order_id",
            (household_id, rule, *statuses),
        )

    def list(self, statuses: frozenset[OrderStatus] | None = None) -> builtins.list[WorkOrder]:
        if statuses is None:
            rows = self._read(f"SELECT {ORDER_COLUMNS} FROM orders ORDER BY order_id")
        else:
            values = sorted(OrderStatus(s).value for s in statuses)
            rows = self._read(
                f"SELECT {ORDER_COLUMNS} FROM orders WHERE status IN ({placeholders(values)})"
                " ORDER BY order_id",
                values,
            )
        return [order_from_row(r) for r in rows]

    def transition(
        self,
        order_id: int,
        status: OrderStatus,
        at: float,
        actor: str,
        note: str = "",
        outcome: Outcome | None = None,
    ) -> WorkOrder:
        with self._write() as db:
            order = apply_transition(
                self._locked_get(db, order_id), OrderStatus(status), at, outcome
            )
            db.execute(
                "UPDATE orders SET status = ?, acknowledged_at = ?, resolved_at = ?, outcome = ?"
                " WHERE order_id = ?",
                (
                    order.status.value,
                    order.acknowledged_at,
                    order.resolved_at,
                    order.outcome.value if order.outcome else None,
                    order_id,
                ),
            )
            _append(db, order_id, at, actor, order.status.value, note)
            return order

    def escalate(
        self, order_id: int, level: int, assignee: str, at: float, note: str = "",
        from_level: int | None = None,
    ) -> WorkOrder:
        with self._write() as db:
            before = self._locked_get(db, order_id)
            order = apply_escalation(before, level, assignee, from_level)
            db.execute(
                "UPDATE orders SET escalation_level = ?, assignee = ? WHERE order_id = ?",
                (order.escalation_level, order.assignee, order_id),
            )
            _append(
                db,
                order_id,
                at,
                SYSTEM_ACTOR,
                ACTION_ESCALATED,
                escalation_note(before.assignee, order, note),
            )
            return order

    def record_usage_resumed(self, order_id: int, at: float) -> WorkOrder:
        with self._write() as db:
            order = self._locked_get(db, order_id)
            if order.usage_resumed_at is not None:
                return order
            db.execute("UPDATE orders SET usage_resumed_at = ? WHERE order_id = ?", (at, order_id))
            _append(db, order_id, at, SYSTEM_ACTOR, ACTION_USAGE_RESUMED)
            return replace(order, usage_resumed_at=at)

    def ledger(self, order_id: int | None = None) -> builtins.list[LedgerEntry]:
        sql = "SELECT order_id, at, actor, action, note FROM ledger"
        rows = (
            self._read(sql + " WHERE order_id = ? ORDER BY entry_id", (order_id,))
            if order_id is not None
            else self._read(sql + " ORDER BY entry_id")
        )
        return [LedgerEntry(int(r[0]), float(r[1]), r[2], r[3], r[4]) for r in rows]

    def outcomes(self, since: float = float("-inf")) -> builtins.list[tuple[str, str, str, float]]:
        rows = self._read(
            "SELECT household_id, rule, outcome, resolved_at FROM orders WHERE outcome IS NOT NULL"
            " AND resolved_at >= ? AND instr(household_id, ':') = 0 ORDER BY resolved_at, order_id",
            (max(since, -1e300),))
        return [(r[0], r[1], r[2], float(r[3])) for r in rows]

    def close(self) -> None:
        self._db.close()

    def _fetch(self, where: str, params: Sequence[Any]) -> WorkOrder | None:
        row = self._db.read_one(f"SELECT {ORDER_COLUMNS} FROM orders WHERE {where} LIMIT 1", params)
        return None if row is None else order_from_row(row)

    @staticmethod
    def _locked_get(db: sqlite3.Connection, order_id: int) -> WorkOrder:
        order = _fetch_order(db, "order_id = ?", (order_id,))
        if order is None:
            raise OrderLookupError(order_id)
        return order

    # -- outbox --------------------------------------------------------------
    def enqueue(self, deliveries: Sequence[Delivery], at: float) -> int:
        added = 0
        with self._write() as db:
            for d in deliveries:
                if _fetch_order(db, "order_id = ?", (d.order_id,)) is None:
                    raise OrderLookupError(d.order_id)
                cursor = db.execute(
                    "INSERT OR IGNORE INTO outbox (order_id, channel, recipient, escalation_level,"
                    " payload, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        d.order_id,
                        d.channel,
                        d.recipient,
                        d.escalation_level,
                        orjson.dumps(d.payload).decode(),
                        at,
                    ),
                )
                added += cursor.rowcount
        return added

    def claim_due(
        self, now: float, channels: Collection[str], lease_s: float, limit: int = 100
    ) -> builtins.list[Delivery]:
        names = sorted(channels)
        if not names:
            return []
        with self._write() as db:
            rows = db.execute(
                f"SELECT {OUTBOX_COLUMNS} FROM outbox"
                " WHERE delivered_at IS NULL AND abandoned_at IS NULL"
                f" AND next_attempt_at <= ? AND channel IN ({placeholders(names)})"
                " ORDER BY next_attempt_at, delivery_id LIMIT ?",
                (now, *names, limit),
            ).fetchall()
            db.executemany(
                "UPDATE outbox SET next_attempt_at = ? WHERE delivery_id = ?",
                [(now + lease_s, r[0]) for r in rows],
            )
        return [delivery_from_row(r) for r in rows]

    def mark_delivered(self, delivery_id: int, at: float) -> bool:
        with self._write() as db:
            d = self._locked_delivery(db, delivery_id)
            if not d.pending:
                return False
            db.execute(
                "UPDATE outbox SET delivered_at = ?, attempts = attempts + 1, last_error = ''"
                " WHERE delivery_id = ?",
                (at, delivery_id),
            )
            _append(db, d.order_id, at, SYSTEM_ACTOR, ACTION_DELIVERED, delivery_note(d))
            return True

    def retry_later(self, delivery_id: int, next_attempt_at: float, error: str) -> None:
        with self._write() as db:
            self._locked_delivery(db, delivery_id)
            db.execute(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?"
                " WHERE delivery_id = ? AND delivered_at IS NULL AND abandoned_at IS NULL",
                (next_attempt_at, error, delivery_id),
            )

    def abandon(self, delivery_id: int, at: float, reason: str) -> None:
        with self._write() as db:
            d = self._locked_delivery(db, delivery_id)
            if not d.pending:
                return
            db.execute(
                "UPDATE outbox SET abandoned_at = ?, last_error = ? WHERE delivery_id = ?",
                (at, reason, delivery_id),
            )
            _append(
                db,
                d.order_id,
                at,
                SYSTEM_ACTOR,
                ACTION_DELIVERY_ABANDONED,
                f"{delivery_note(d)}: {reason}",
            )

    def deliveries(self, order_id: int | None = None) -> builtins.list[Delivery]:
        sql = f"SELECT {OUTBOX_COLUMNS} FROM outbox"
        rows = (
            self._read(sql + " WHERE order_id = ? ORDER BY delivery_id", (order_id,))
            if order_id is not None
            else self._read(sql + " ORDER BY delivery_id")
        )
        return [delivery_from_row(r) for r in rows]

    @staticmethod
    def _locked_delivery(db: sqlite3.Connection, delivery_id: int) -> Delivery:
        row = db.execute(
            f"SELECT {OUTBOX_COLUMNS} FROM outbox WHERE delivery_id = ?", (delivery_id,)
        ).fetchone()
        if row is None:
            raise LookupError(f"No delivery by the id of {delivery_id!r} is in the outbox")
        return delivery_from_row(row)


def _append(
    db: sqlite3.Connection, order_id: int, at: float, actor: str, action: str, note: str = ""
) -> None:
    db.execute(
        "INSERT INTO ledger (order_id, at, actor, action, note) VALUES (?, ?, ?, ?, ?)",
        (order_id, at, actor, action, note),
    )


def _fetch_order(db: sqlite3.Connection, where: str, params: Sequence[Any]) -> WorkOrder | None:
    row = db.execute(
        f"SELECT {ORDER_COLUMNS} FROM orders WHERE {where} LIMIT 1", params
    ).fetchone()
    return None if row is None else order_from_row(row)
