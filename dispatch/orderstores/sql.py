"""Work orders, their ledger and the delivery outbox in SQL, written once for SQLite
(:mod:`dispatch.orderstores.sqlite`) and PostgreSQL (:mod:`dispatch.orderstores.postgres`).

UNIQUE(household_id, rule, episode_start) with ``ON CONFLICT DO NOTHING`` makes an order
exactly-once; a held name per (household, rule) makes ``open_order(join_active=True)``
one decision; the outbox is claimed with ``SKIP LOCKED`` and leased in the same
transaction; escalation and delivery changes read their row locked, so ``from_level``
is a compare-and-set. On SQLite the held name and the row locks are its one
``BEGIN IMMEDIATE`` writer; on PostgreSQL they are the server's (:mod:`dispatch.sql`).
"""

from __future__ import annotations

import builtins
from collections.abc import Collection, Sequence
from dataclasses import replace
from typing import Any

from dispatch.orderstores import lifecycle
from dispatch.orderstores.base import Delivery, abandon_note, delivery_note
from dispatch.orderstores.rows import (
    ORDER_COLUMNS,
    OUTBOX_COLUMNS,
    delivery_from_row,
    order_from_row,
)
from dispatch.sql import EPISODE, SqlStore, Table, Transaction, episode_params, placeholders
from lifesign.alerts import EpisodeKey
from lifesign.workorders import ACTIVE, LedgerEntry, OrderStatus, Outcome, WorkOrder

_ACTIVE = sorted(s.value for s in ACTIVE)
_SYSTEM = lifecycle.SYSTEM_ACTOR
_ORDERS = Table("orders", "order_id", ORDER_COLUMNS)


class SqlWorkOrderStore(SqlStore):
    # -- orders --------------------------------------------------------------
    def open_order(
        self, key: EpisodeKey, assignee: str, tier: str, at: float, evidence: dict[str, float],
        *, join_active: bool = False,
    ) -> tuple[WorkOrder, bool]:
        with self._tx() as tx:
            # one decision per home and rule at a time, across instances: joining reads
            # the other episodes' orders, which a unique key alone cannot protect
            tx.hold(f"order:{key.household_id}\x1f{key.rule}")
            # this episode's order first, else (joining) the oldest active one of the home and rule
            statuses = _ACTIVE if join_active else []
            existing = _order(
                tx,
                f"household_id = ? AND rule = ? AND (episode_start = ? OR status IN ({placeholders(statuses)}))"
                " ORDER BY episode_start <> ?, order_id",
                (*episode_params(key), *statuses, key.episode_start),
            )
            if existing is not None:
                return existing, False
            row = tx.insert(
                _ORDERS, "household_id, rule, episode_start, assignee, tier, status, opened_at,"
                " evidence, responsible",
                (*episode_params(key), assignee, tier, OrderStatus.OPEN.value, at,
                 tx.json({k: float(v) for k, v in evidence.items()}), assignee),
                " ON CONFLICT (household_id, rule, episode_start) DO NOTHING",
            )
            if row is None:  # opened by a writer that did not hold the name (an older lifesign)
                found = _order(tx, EPISODE, episode_params(key))
                assert found is not None, key  # the conflict proved it there
                return found, False
            order = order_from_row(row)
            _append(tx, order.order_id, at, _SYSTEM, lifecycle.ACTION_OPENED, lifecycle.opened_note(assignee))
            return order, True

    def get(self, order_id: int) -> WorkOrder:
        order = self._fetch("order_id = ?", (order_id,))
        if order is None:
            raise lifecycle.OrderLookupError(order_id)
        return order

    def find(self, key: EpisodeKey) -> WorkOrder | None:
        return self._fetch(EPISODE, episode_params(key))

    def active_for(self, household_id: str, rule: str) -> WorkOrder | None:
        return self._fetch(
            f"household_id = ? AND rule = ? AND status IN ({placeholders(_ACTIVE)}) ORDER BY order_id",
            (household_id, rule, *_ACTIVE),
        )

    def list(self, statuses: frozenset[OrderStatus] | None = None) -> builtins.list[WorkOrder]:
        if statuses is None:
            rows = self._all(f"SELECT {ORDER_COLUMNS} FROM orders ORDER BY order_id")
        else:
            values = sorted(OrderStatus(s).value for s in statuses)
            rows = self._all(
                f"SELECT {ORDER_COLUMNS} FROM orders WHERE status IN ({placeholders(values)})"
                " ORDER BY order_id",
                values,
            )
        return [order_from_row(r) for r in rows]

    def transition(
        self, order_id: int, status: OrderStatus, at: float, actor: str, note: str = "",
        outcome: Outcome | None = None,
    ) -> WorkOrder:
        with self._tx() as tx:
            order = lifecycle.apply_transition(_locked_order(tx, order_id), OrderStatus(status), at,
                                               outcome)
            tx.run(
                "UPDATE orders SET status = ?, acknowledged_at = ?, resolved_at = ?, outcome = ?"
                " WHERE order_id = ?",
                (order.status.value, order.acknowledged_at, order.resolved_at,
                 order.outcome.value if order.outcome else None, order_id),
            )
            _append(tx, order_id, at, actor, order.status.value, note)
            return order

    def escalate(
        self, order_id: int, level: int, assignee: str, at: float, note: str = "",
        from_level: int | None = None,
    ) -> WorkOrder:
        with self._tx() as tx:
            # the row lock makes the level check a compare-and-set: a second dispatcher
            # waits here, then sees the level already moved and is refused
            before = _locked_order(tx, order_id)
            order = lifecycle.apply_escalation(before, level, assignee, from_level)
            tx.run("UPDATE orders SET escalation_level = ?, assignee = ? WHERE order_id = ?",
                   (order.escalation_level, order.assignee, order_id))
            _append(tx, order_id, at, _SYSTEM, lifecycle.ACTION_ESCALATED,
                    lifecycle.escalation_note(before.assignee, order, note))
            return order

    def record_usage_resumed(self, order_id: int, at: float) -> WorkOrder:
        with self._tx() as tx:
            order = _locked_order(tx, order_id)
            if order.usage_resumed_at is not None:
                return order
            tx.run("UPDATE orders SET usage_resumed_at = ? WHERE order_id = ?", (at, order_id))
            _append(tx, order_id, at, _SYSTEM, lifecycle.ACTION_USAGE_RESUMED)
            return replace(order, usage_resumed_at=at)

    def ledger(self, order_id: int | None = None) -> builtins.list[LedgerEntry]:
        sql = "SELECT order_id, at, actor, action, note FROM ledger"
        rows = (self._all(sql + " WHERE order_id = ? ORDER BY entry_id", (order_id,))
                if order_id is not None else self._all(sql + " ORDER BY entry_id"))
        return [LedgerEntry(int(r[0]), float(r[1]), r[2], r[3], r[4]) for r in rows]

    def outcomes(self, since: float = float("-inf")) -> builtins.list[tuple[str, str, str, float]]:
        # a household id with ':' is a storm's or an outage's order, not a home's
        rows = self._all(
            "SELECT household_id, rule, outcome, resolved_at FROM orders WHERE outcome IS NOT NULL"
            " AND resolved_at >= ? AND household_id NOT LIKE ? ORDER BY resolved_at, order_id",
            (max(since, -1e300), "%:%"))
        return [(r[0], r[1], r[2], float(r[3])) for r in rows]

    def _fetch(self, where: str, params: Sequence[Any]) -> WorkOrder | None:
        row = self._one(f"SELECT {ORDER_COLUMNS} FROM orders WHERE {where} LIMIT 1", params)
        return None if row is None else order_from_row(row)

    # -- outbox --------------------------------------------------------------
    def enqueue(self, deliveries: Sequence[Delivery], at: float) -> int:
        added = 0
        with self._tx() as tx:
            for d in deliveries:
                if tx.one("SELECT 1 FROM orders WHERE order_id = ?", (d.order_id,)) is None:
                    raise lifecycle.OrderLookupError(d.order_id)
                added += tx.run(
                    "INSERT INTO outbox (order_id, channel, recipient, escalation_level, payload,"
                    " next_attempt_at) VALUES (?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (order_id, channel, recipient, escalation_level) DO NOTHING",
                    (d.order_id, d.channel, d.recipient, d.escalation_level, tx.json(d.payload), at))
        return added

    def claim_due(
        self, now: float, channels: Collection[str], lease_s: float, limit: int = 100
    ) -> builtins.list[Delivery]:
        names = sorted(channels)
        if not names:
            return []
        with self._tx() as tx:
            # rows another deliverer is claiming right now are skipped, not waited for;
            # once it commits, their lease keeps them out of this query
            rows = tx.all(
                f"SELECT {OUTBOX_COLUMNS} FROM outbox"
                " WHERE delivered_at IS NULL AND abandoned_at IS NULL"
                f" AND next_attempt_at <= ? AND channel IN ({placeholders(names)})"
                " ORDER BY next_attempt_at, delivery_id LIMIT ?",
                (now, *names, limit), claim=True)
            if rows:
                ids = [r[0] for r in rows]
                tx.run(f"UPDATE outbox SET next_attempt_at = ? WHERE delivery_id IN ({placeholders(ids)})",
                       (now + lease_s, *ids))
        return [delivery_from_row(r) for r in rows]

    def mark_delivered(self, delivery_id: int, at: float) -> bool:
        with self._tx() as tx:
            d = _locked_delivery(tx, delivery_id)
            if not d.pending:
                return False
            tx.run("UPDATE outbox SET delivered_at = ?, attempts = attempts + 1, last_error = ''"
                   " WHERE delivery_id = ?", (at, delivery_id))
            _append(tx, d.order_id, at, _SYSTEM, lifecycle.ACTION_DELIVERED, delivery_note(d))
            return True

    def retry_later(self, delivery_id: int, next_attempt_at: float, error: str) -> None:
        with self._tx() as tx:
            if not _locked_delivery(tx, delivery_id).pending:
                return
            tx.run("UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?"
                   " WHERE delivery_id = ?", (next_attempt_at, error, delivery_id))

    def abandon(self, delivery_id: int, at: float, reason: str) -> None:
        with self._tx() as tx:
            d = _locked_delivery(tx, delivery_id)
            if not d.pending:
                return
            tx.run("UPDATE outbox SET abandoned_at = ?, last_error = ? WHERE delivery_id = ?",
                   (at, reason, delivery_id))
            _append(tx, d.order_id, at, _SYSTEM, lifecycle.ACTION_DELIVERY_ABANDONED,
                    abandon_note(d, reason))

    def deliveries(self, order_id: int | None = None) -> builtins.list[Delivery]:
        sql = f"SELECT {OUTBOX_COLUMNS} FROM outbox"
        rows = (self._all(sql + " WHERE order_id = ? ORDER BY delivery_id", (order_id,))
                if order_id is not None else self._all(sql + " ORDER BY delivery_id"))
        return [delivery_from_row(r) for r in rows]


def _append(tx: Transaction, order_id: int, at: float, actor: str, action: str, note: str = "") -> None:
    tx.run("INSERT INTO ledger (order_id, at, actor, action, note) VALUES (?, ?, ?, ?, ?)",
           (order_id, at, actor, action, note))


def _order(tx: Transaction, where: str, params: Sequence[Any]) -> WorkOrder | None:
    row = tx.one(f"SELECT {ORDER_COLUMNS} FROM orders WHERE {where} LIMIT 1", params)
    return None if row is None else order_from_row(row)


def _locked_order(tx: Transaction, order_id: int) -> WorkOrder:
    row = tx.one(f"SELECT {ORDER_COLUMNS} FROM orders WHERE order_id = ?", (order_id,), lock=True)
    if row is None:
        raise lifecycle.OrderLookupError(order_id)
    return order_from_row(row)


def _locked_delivery(tx: Transaction, delivery_id: int) -> Delivery:
    row = tx.one(f"SELECT {OUTBOX_COLUMNS} FROM outbox WHERE delivery_id = ?", (delivery_id,), lock=True)
    if row is None:
        raise lifecycle.DeliveryLookupError(delivery_id)
    return delivery_from_row(row)
