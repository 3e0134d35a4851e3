"""The ledger as CSV: every work-order step (who, when, what, note) and every mute
decision, oldest first. `lifesign ledger export` and the desk's export both write it."""

from __future__ import annotations

import csv
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from typing import Any, TextIO

from dispatch.mutes.base import MuteStore
from lifesign.clock import local_time
from lifesign.stores import WorkOrderStore

COLUMNS = ("at_utc", "at_local", "source", "order_id", "household_id", "rule", "episode_start", "actor",
           "action", "note")


def ledger_rows(orders: WorkOrderStore, mutes: MuteStore | None, since: float = float("-inf"),
                until: float = float("inf"), keep: Callable[[str], bool] | None = None) -> list[tuple[float, list[Any]]]:
    """(at, row after the two time columns) of every line with since <= at < until, oldest first;
    ``keep(household_id)`` narrows them to what the reader may see."""
    rows: list[tuple[float, int, list[Any]]] = []
    by_id = {o.order_id: o for o in orders.list()}
    for i, e in enumerate(orders.ledger()):
        o = by_id[e.order_id]
        if since <= e.at < until and (keep is None or keep(o.household_id)):
            rows.append((e.at, i, ["order", e.order_id, o.household_id, o.rule, o.key.episode_start, e.actor,
                                   e.action, e.note]))
    if mutes is not None:
        window = (None if since == float("-inf") else since, None if until == float("inf") else until)
        for i, m in enumerate(mutes.mute_log(*window)):
            if keep is None or keep(m.household_id):
                rows.append((m.at, 1_000_000_000 + i, ["mute", "", m.household_id, m.rule, m.episode_start,
                                                       "lifesign", m.action, m.note]))
    rows.sort(key=lambda r: (r[0], r[1]))
    return [(at, rest) for at, _, rest in rows]


def write_ledger_csv(stream: TextIO, rows: list[tuple[float, list[Any]]], tz: tzinfo) -> None:
    writer = csv.writer(stream)
    writer.writerow(COLUMNS)
    for at, rest in rows:
        writer.writerow([datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), local_time(at, tz), *rest])


__all__ = ["COLUMNS", "ledger_rows", "write_ledger_csv"]
