"""Work orders, their ledger and the delivery outbox in PostgreSQL, shared by several
lifesign instances (:mod:`dispatch.postgres`: a pool, one transaction per change,
versioned migrations).

The queries and rules are the SQLite store's (:mod:`dispatch.orderstores.sql`), kept by
the server rather than by one writer: UNIQUE(household_id, rule, episode_start) with
``ON CONFLICT`` makes an order exactly-once even while two instances overlap; a
transaction-scoped advisory lock on (household, rule) makes
``open_order(join_active=True)`` one decision like SQLite's ``BEGIN IMMEDIATE``;
``FOR UPDATE SKIP LOCKED`` lets several deliverers claim the outbox without sending a
row twice; escalation and delivery changes lock their row first, so ``from_level`` is a
compare-and-set. Triggers keep the ledger append-only.
"""

from __future__ import annotations

from dispatch.orderstores.sql import SqlWorkOrderStore
from dispatch.postgres import POSTGRES, PostgresDatabase

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


class PostgresWorkOrderStore(SqlWorkOrderStore):
    def __init__(self, dsn: str, *, pool_size: int = 8) -> None:
        super().__init__(PostgresDatabase(dsn, COMPONENT, MIGRATIONS, max_size=pool_size), POSTGRES)
