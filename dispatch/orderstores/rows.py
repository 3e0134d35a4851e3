"""Rows of the SQL order stores (SQLite, PostgreSQL) as work orders and deliveries: both
select the same columns in the same order."""

from __future__ import annotations

from typing import Any

from dispatch.orderstores.base import Delivery
from dispatch.sql import json_column
from lifesign.alerts import EpisodeKey
from lifesign.workorders import OrderStatus, Outcome, WorkOrder

ORDER_COLUMNS = (
    "order_id, household_id, rule, episode_start, assignee, tier, status, opened_at, "
    "escalation_level, acknowledged_at, resolved_at, outcome, usage_resumed_at, evidence, responsible"
)
OUTBOX_COLUMNS = (
    "delivery_id, order_id, channel, recipient, escalation_level, payload, attempts, "
    "next_attempt_at, delivered_at, abandoned_at, last_error"
)


def order_from_row(r: tuple[Any, ...]) -> WorkOrder:
    return WorkOrder(
        order_id=int(r[0]),
        key=EpisodeKey(r[1], r[2], float(r[3])),
        assignee=r[4],
        tier=r[5],
        status=OrderStatus(r[6]),
        opened_at=float(r[7]),
        escalation_level=int(r[8]),
        acknowledged_at=r[9],
        resolved_at=r[10],
        outcome=Outcome(r[11]) if r[11] is not None else None,
        usage_resumed_at=r[12],
        evidence={k: float(v) for k, v in json_column(r[13]).items()},
        responsible=r[14],
    )


def delivery_from_row(r: tuple[Any, ...]) -> Delivery:
    return Delivery(
        order_id=int(r[1]),
        channel=r[2],
        recipient=r[3],
        escalation_level=int(r[4]),
        payload=json_column(r[5]),
        delivery_id=int(r[0]),
        attempts=int(r[6]),
        next_attempt_at=float(r[7]),
        delivered_at=r[8],
        abandoned_at=r[9],
        last_error=r[10],
    )
