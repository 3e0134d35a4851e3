"""Work orders, their ledger and the delivery outbox in PostgreSQL, shared by several
lifesign instances (:mod:`dispatch.postgres`: a pool, one transaction per change,
versioned migrations).

The same rules as the SQLite store, kept by the server rather than by one writer:
UNIQUE(household_id, rule, episode_start) with ``ON CONFLICT`` makes an order
exactly-once even while two instances overlap; a transaction-scoped advisory lock on
(household, rule) makes ``open_order(join_active=True)`` one decision like SQLite's
``BEGIN IMMEDIATE``; ``FOR UPDATE SKIP LOCKED`` lets several deliverers claim the outbox
without sending a row twice; escalation and delivery changes lock their row first, so
``from_level`` is a compare-and-set. Triggers keep the ledger append-only.
"""

from __future__ import annotations

import builtins
from collections.abc import Collection, Sequence
from dataclasses import replace
from typing import Any

import orjson
import psycopg

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
from dispatch.postgres import PostgresDatabase
from lifesign.alerts import EpisodeKey
from lifesign.workorders import ACTIVE, LedgerEntry, OrderStatus, Outcome, WorkOrder

COMPONENT = "orders"

#: migration 1: the schema of the SQLite store, in PostgreSQL's types (event times are
#: the clock's float seconds, as everywhere in lifesign)
_MIGRATION_1 = """
CREATE TABLE orders (
    order_id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    household_id     TEXT    NOT NULL,
    rule             TEXT    NOT NULL,
    episode_start    DOUBLE PRECISION NOT NULL,
    assignee         TEXT    NOT NULL,
    tier             TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    opened_at        DOUBLE PRECISION NOT NULL,
    escalation_level INTEGER NOT NULL DEFAULT 0,
    acknowledged_at  DOUBLE PRECISION,
    resolved_at      DOUBLE PRECISION,
    outcome          TEXT,
    usage_resumed_at DOUBLE PRECISION,
    evidence         JSONB   NOT NULL DEFAULT '{}',
    responsible      TEXT    NOT NULL DEFAULT '',
    CONSTRAINT orders_episode UNIQUE (household_id, rule, episode_start)
);
CREATE INDEX orders_by_status ON orders (status);
CREATE INDEX orders_by_household ON orders (household_id, rule);

CREATE TABLE ledger (
    entry_id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id BIGINT  NOT NULL REFERENCES orders (order_id),
    at       DOUBLE PRECISION NOT NULL,
    actor    TEXT    NOT NULL,
    action   TEXT    NOT NULL,
    note     TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX ledger_by_order ON ledger (order_id, entry_id);
CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only: lines cannot be %',
        CASE TG_OP WHEN 'UPDATE' THEN 'changed' ELSE 'deleted' END;
END $$;
CREATE TRIGGER ledger_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON ledger
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();

CREATE TABLE outbox (
    delivery_id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id         BIGINT  NOT NULL REFERENCES orders (order_id),
    channel          TEXT    NOT NULL,
    recipient        TEXT    NOT NULL,
    escalation_level INTEGER NOT NULL,
    payload          JSONB   NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  DOUBLE PRECISION NOT NULL,
    delivered_at     DOUBLE PRECISION,
    abandoned_at     DOUBLE PRECISION,
    last_error       TEXT    NOT NULL DEFAULT '',
    CONSTRAINT outbox_delivery UNIQUE (order_id, channel, recipient, escalation_level)
);
CREATE INDEX outbox_pending ON outbox (next_attempt_at)
    WHERE delivered_at IS NULL AND abandoned_at IS NULL;
"""

MIGRATIONS: tuple[str, ...] = (_MIGRATION_1,)
_ACTIVE = sorted(s.value for s in ACTIVE)
_Db = psycopg.Connection[Any]


class PostgresWorkOrderStore:
    def __init__(self, dsn: str, *, pool_size: int = 8) -> None:
        self._db = PostgresDatabase(dsn, COMPONENT, MIGRATIONS, max_size=pool_size)
        self._tx = self._db.transaction

    # -- orders --------------------------------------------------------------
    def open_order(
        self, key: EpisodeKey, assignee: str, tier: str, at: float, evidence: dict[str, float],
        *, join_active: bool = False,
    ) -> tuple[WorkOrder, bool]:
        with self._tx() as db:
            # one decision per home and rule at a time, across instances: joining reads
            # the other episodes' orders, which a unique key alone cannot protect
            db.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                       (f"order:{key.household_id}\x1f{key.rule}",))
            statuses = _ACTIVE if join_active else []
            existing = _fetch_order(
                db,
                "household_id = %s AND rule = %s AND (episode_start = %s OR status = ANY(%s))"
                " ORDER BY episode_start <> %s, order_id",
                (key.household_id, key.rule, key.episode_start, statuses, key.episode_start),
            )
            if existing is not None:
                return existing, False
            row = db.execute(
                "INSERT INTO orders (household_id, rule, episode_start, assignee, tier, status,"
                " opened_at, evidence, responsible) VALUES (%s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s)"
                " ON CONFLICT ON CONSTRAINT orders_episode DO NOTHING"
                f" RETURNING {ORDER_COLUMNS}",
                (key.household_id, key.rule, key.episode_start, assignee, tier,
                 OrderStatus.OPEN.value, at,
                 orjson.dumps({k: float(v) for k, v in evidence.items()}).decode(), assignee),
            ).fetchone()
            if row is None:  # opened by a writer that did not take the lock (an older lifesign)
                found = _fetch_order(db, "household_id = %s AND rule = %s AND episode_start = %s",
                                     (key.household_id, key.rule, key.episode_start))
                assert found is not None
                return found, False
            order = order_from_row(row)
            _append(db, order.order_id, at, SYSTEM_ACTOR, ACTION_OPENED, f"assigned to {assignee}")
            return order, True

    def get(self, order_id: int) -> WorkOrder:
        order = self._fetch("order_id = %s", (order_id,))
        if order is None:
            raise OrderLookupError(order_id)
        return order

    def find(self, key: EpisodeKey) -> WorkOrder | None:
        return self._fetch("household_id = %s AND rule = %s AND episode_start = %s",
                           (key.household_id, key.rule, key.episode_start))

    def active_for(self, household_id: str, rule: str) -> WorkOrder | None:
        return self._fetch("household_id = %s AND rule = %s AND status = ANY(%s) ORDER BY order_id",
                           (household_id, rule, _ACTIVE))

    def list(self, statuses: frozenset[OrderStatus] | None = None) -> builtins.list[WorkOrder]:
        if statuses is None:
            rows = self._db.read(f"SELECT {ORDER_COLUMNS} FROM orders ORDER BY order_id")
        else:
            values = sorted(OrderStatus(s).value for s in statuses)
            rows = self._db.read(
                f"SELECT {ORDER_COLUMNS} FROM orders WHERE status = ANY(%s) ORDER BY order_id",
                (values,))
        return [order_from_row(r) for r in rows]

    def transition(
        self, order_id: int, status: OrderStatus, at: float, actor: str, note: str = "",
        outcome: Outcome | None = None,
    ) -> WorkOrder:
        with self._tx() as db:
            order = apply_transition(_locked_order(db, order_id), OrderStatus(status), at, outcome)
            db.execute(
                "UPDATE orders SET status = %s, acknowledged_at = %s, resolved_at = %s, outcome = %s"
                " WHERE order_id = %s",
                (order.status.value, order.acknowledged_at, order.resolved_at,
                 order.outcome.value if order.outcome else None, order_id),
            )
            _append(db, order_id, at, actor, order.status.value, note)
            return order

    def escalate(
        self, order_id: int, level: int, assignee: str, at: float, note: str = "",
        from_level: int | None = None,
    ) -> WorkOrder:
        with self._tx() as db:
            # the row lock makes the level check a compare-and-set: a second dispatcher
            # waits here, then sees the level already moved and is refused
            before = _locked_order(db, order_id)
            order = apply_escalation(before, level, assignee, from_level)
            db.execute("UPDATE orders SET escalation_level = %s, assignee = %s WHERE order_id = %s",
                       (order.escalation_level, order.assignee, order_id))
            _append(db, order_id, at, SYSTEM_ACTOR, ACTION_ESCALATED,
                    escalation_note(before.assignee, order, note))
            return order

    def record_usage_resumed(self, order_id: int, at: float) -> WorkOrder:
        with self._tx() as db:
            order = _locked_order(db, order_id)
            if order.usage_resumed_at is not None:
                return order
            db.execute("UPDATE orders SET usage_resumed_at = %s WHERE order_id = %s", (at, order_id))
            _append(db, order_id, at, SYSTEM_ACTOR, ACTION_USAGE_RESUMED)
            return replace(order, usage_resumed_at=at)

    def ledger(self, order_id: int | None = None) -> builtins.list[LedgerEntry]:
        sql = "SELECT order_id, at, actor, action, note FROM ledger"
        rows = (self._db.read(sql + " WHERE order_id = %s ORDER BY entry_id", (order_id,))
                if order_id is not None else self._db.read(sql + " ORDER BY entry_id"))
        return [LedgerEntry(int(r[0]), float(r[1]), r[2], r[3], r[4]) for r in rows]

    def outcomes(self, since: float = float("-inf")) -> builtins.list[tuple[str, str, str, float]]:
        rows = self._db.read(
            "SELECT household_id, rule, outcome, resolved_at FROM orders WHERE outcome IS NOT NULL"
            " AND resolved_at >= %s AND strpos(household_id, ':') = 0 ORDER BY resolved_at, order_id",
            (since,))
        return [(r[0], r[1], r[2], float(r[3])) for r in rows]

    def close(self) -> None:
        self._db.close()

    def _fetch(self, where: str, params: Sequence[Any]) -> WorkOrder | None:
        row = self._db.read_one(f"SELECT {ORDER_COLUMNS} FROM orders WHERE {where} LIMIT 1", params)
        return None if row is None else order_from_row(row)

    # -- outbox --------------------------------------------------------------
    def enqueue(self, deliveries: Sequence[Delivery], at: float) -> int:
        added = 0
        with self._tx() as db:
            for d in deliveries:
                if db.execute("SELECT 1 FROM orders WHERE order_id = %s", (d.order_id,)).fetchone() is None:
                    raise OrderLookupError(d.order_id)
                cursor = db.execute(
                    "INSERT INTO outbox (order_id, channel, recipient, escalation_level, payload,"
                    " next_attempt_at) VALUES (%s, %s, %s, %s, %s::jsonb, %s)"
                    " ON CONFLICT ON CONSTRAINT outbox_delivery DO NOTHING",
                    (d.order_id, d.channel, d.recipient, d.escalation_level,
                     orjson.dumps(d.payload).decode(), at))
                added += cursor.rowcount
        return added

    def claim_due(
        self, now: float, channels: Collection[str], lease_s: float, limit: int = 100
    ) -> builtins.list[Delivery]:
        names = sorted(channels)
        if not names:
            return []
        with self._tx() as db:
            # rows another deliverer is claiming right now are skipped, not waited for;
            # once it commits, their lease keeps them out of this query
            rows = db.execute(
                f"SELECT {OUTBOX_COLUMNS} FROM outbox"
                " WHERE delivered_at IS NULL AND abandoned_at IS NULL"
                " AND next_attempt_at <= %s AND channel = ANY(%s)"
                " ORDER BY next_attempt_at, delivery_id LIMIT %s FOR UPDATE SKIP LOCKED",
                (now, names, limit)).fetchall()
            if rows:
                db.execute("UPDATE outbox SET next_attempt_at = %s WHERE delivery_id = ANY(%s)",
                           (now + lease_s, [r[0] for r in rows]))
        return [delivery_from_row(r) for r in rows]

    def mark_delivered(self, delivery_id: int, at: float) -> bool:
        with self._tx() as db:
            d = _locked_delivery(db, delivery_id)
            if not d.pending:
                return False
            db.execute("UPDATE outbox SET delivered_at = %s, attempts = attempts + 1, last_error = ''"
                       " WHERE delivery_id = %s", (at, delivery_id))
            _append(db, d.order_id, at, SYSTEM_ACTOR, ACTION_DELIVERED, delivery_note(d))
            return True

    def retry_later(self, delivery_id: int, next_attempt_at: float, error: str) -> None:
        with self._tx() as db:
            if not _locked_delivery(db, delivery_id).pending:
                return
            db.execute("UPDATE outbox SET attempts = attempts + 1, next_attempt_at = %s, last_error = %s"
                       " WHERE delivery_id = %s", (next_attempt_at, error, delivery_id))

    def abandon(self, delivery_id: int, at: float, reason: str) -> None:
        with self._tx() as db:
            d = _locked_delivery(db, delivery_id)
            if not d.pending:
                return
            db.execute("UPDATE outbox SET abandoned_at = %s, last_error = %s WHERE delivery_id = %s",
                       (at, reason, delivery_id))
            _append(db, d.order_id, at, SYSTEM_ACTOR, ACTION_DELIVERY_ABANDONED,
                    f"{delivery_note(d)}: {reason}")

    def deliveries(self, order_id: int | None = None) -> builtins.list[Delivery]:
        sql = f"SELECT {OUTBOX_COLUMNS} FROM outbox"
        rows = (self._db.read(sql + " WHERE order_id = %s ORDER BY delivery_id", (order_id,))
                if order_id is not None else self._db.read(sql + " ORDER BY delivery_id"))
        return [delivery_from_row(r) for r in rows]


def _append(db: _Db, order_id: int, at: float, actor: str, action: str, note: str = "") -> None:
    db.execute("INSERT INTO ledger (order_id, at, actor, action, note) VALUES (%s, %s, %s, %s, %s)",
               (order_id, at, actor, action, note))


def _fetch_order(db: _Db, where: str, params: Sequence[Any]) -> WorkOrder | None:
    row = db.execute(f"SELECT {ORDER_COLUMNS} FROM orders WHERE {where} LIMIT 1", params).fetchone()
    return None if row is None else order_from_row(row)


def _locked_order(db: _Db, order_id: int) -> WorkOrder:
    row = db.execute(f"SELECT {ORDER_COLUMNS} FROM orders WHERE order_id = %s FOR UPDATE",
                     (order_id,)).fetchone()
    if row is None:
        raise OrderLookupError(order_id)
    return order_from_row(row)


def _locked_delivery(db: _Db, delivery_id: int) -> Delivery:
    row = db.execute(f"SELECT {OUTBOX_COLUMNS} FROM outbox WHERE delivery_id = %s FOR UPDATE",
                     (delivery_id,)).fetchone()
    if row is None:
        raise LookupError(f"No delivery by the id of {delivery_id!r} is in the outbox")
    return delivery_from_row(row)
