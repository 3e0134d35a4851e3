"""What the pages and the JSON API show, as plain dicts: the same numbers in both."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from app.web.desk import Desk
from app.web.staff import StaffAccount
from dispatch.absences import Absence, Outage, OutageScope
from dispatch.mutes.records import WAITING, AlertFate, area_of
from lifesign.clock import local_time
from lifesign.grid import TIER_BY_CODE, Tier
from lifesign.workorders import ACTIVE, WorkOrder

#: board states, most pressing first: a home shows the first that applies
STATES = ("order", "muted", "silent", "fine")
#: the board lists homes one by one up to this many (past it, counts only)
BOARD_CELLS = 2000


def order_row(desk: Desk, order: WorkOrder, t: Callable[[str], str] | None = None) -> dict[str, Any]:
    t = t or (lambda key: key.split(".", 1)[-1])
    community, grid = desk.place(order)
    now = desk.clock.now()
    infrastructure = area_of(order.household_id) is not None
    rule = order.rule.split(":")[1] if infrastructure else order.rule
    return {
        "order_id": order.order_id, "household_id": order.household_id, "rule": order.rule,
        "rule_title": t(f"rule.{rule}"), "tier": order.tier, "status": order.status.value,
        "status_title": t(f"status.{order.status.value}"), "escalation_level": order.escalation_level,
        "assignee": order.assignee, "responsible": order.responsible, "community": community, "grid": grid,
        "opened_at": order.opened_at, "opened_local": local_time(order.opened_at, desk.tz),
        "age_min": max(0, int((now - order.opened_at) // 60)),
        "acknowledged_at": order.acknowledged_at, "resolved_at": order.resolved_at,
        "outcome": order.outcome.value if order.outcome else None,
        "usage_resumed_at": order.usage_resumed_at, "infrastructure": infrastructure,
    }


def visible_orders(desk: Desk, account: StaffAccount, *, active_only: bool = True, community: str = "",
                   grid: str = "", status: str = "") -> list[WorkOrder]:
    found = desk.orders.list(ACTIVE if active_only else None)
    out = []
    for order in found:
        c, g = desk.place(order)
        if not account.sees(c, g) or (community and c != community) or (grid and g != grid):
            continue
        if status and order.status.value != status:
            continue
        out.append(order)
    return out


def ledger_rows(desk: Desk, order: WorkOrder) -> list[dict[str, Any]]:
    return [{"at": e.at, "local": local_time(e.at, desk.tz), "actor": e.actor, "action": e.action, "note": e.note}
            for e in desk.orders.ledger(order.order_id)]


def _in_scope(desk: Desk, account: StaffAccount) -> np.ndarray:
    reg = desk.registry
    if account.role.value == "operator":
        return np.ones(reg.n_households, dtype=bool)
    column = reg.community if account.role.value == "desk" else reg.grid
    return np.asarray(column == account.area, dtype=bool)


def board(desk: Desk, account: StaffAccount, community: str = "", grid: str = "") -> dict[str, Any]:
    """Tier × state counts of the homes the account sees, and the homes themselves."""
    reg, now = desk.registry, desk.clock.now()
    scope = _in_scope(desk, account)
    if community:
        scope &= reg.community == community
    if grid:
        scope &= reg.grid == grid
    state = np.full(reg.n_households, len(STATES) - 1, dtype=np.int8)  # fine

    def mark(ids: set[str], level: int) -> None:
        for hid in ids:
            i = reg.household_index.get(hid)
            if i is not None and state[i] > level:
                state[i] = level

    mark({o.household_id for o in desk.orders.list(ACTIVE)}, 0)
    muted = {a.household_id for a in desk.mutes.absences(active_at=now)}
    muted |= {w.key.household_id for w in desk.mutes.waiting() if w.fate is AlertFate.MUTED}
    for outage in desk.mutes.outages(active_at=now):
        column = {OutageScope.BUILDING: reg.building, OutageScope.GRID: reg.grid,
                  OutageScope.COMMUNITY: reg.community}[outage.scope]
        muted |= {str(h) for h in reg.household_ids[column == outage.area]}
    mark(muted, 1)
    silent = {a.household_id for a in desk.open_episodes(now)}
    silent |= {w.key.household_id for w in desk.mutes.waiting() if w.fate in WAITING}
    mark(silent, 2)
    counts = {tier.value: dict.fromkeys(STATES, 0) for tier in Tier}
    homes: list[dict[str, str]] = []
    for i in np.flatnonzero(scope):
        tier = TIER_BY_CODE[int(reg.tier[i])].value
        name = STATES[int(state[i])]
        counts[tier][name] += 1
        if len(homes) < BOARD_CELLS:
            homes.append({"household_id": str(reg.household_ids[i]), "tier": tier, "state": name,
                          "community": str(reg.community[i]), "grid": str(reg.grid[i]),
                          "building": str(reg.building[i]), "room": str(reg.room[i])})
    communities = sorted({str(c) for c in reg.community[_in_scope(desk, account)]})
    grids = sorted({str(g) for g in reg.grid[_in_scope(desk, account)]})
    return {"counts": counts, "homes": homes, "total": int(scope.sum()), "communities": communities,
            "grids": grids, "at": now}


def absence_row(desk: Desk, a: Absence) -> dict[str, Any]:
    now = desk.clock.now()
    return {"absence_id": a.absence_id, "household_id": a.household_id, "start": a.start, "end": a.effective_end,
            "start_local": local_time(a.start, desk.tz), "end_local": local_time(a.effective_end, desk.tz),
            "reason": a.reason, "by": a.created_by, "current": a.covers(now), "over": a.effective_end <= now}


def outage_row(desk: Desk, o: Outage) -> dict[str, Any]:
    now = desk.clock.now()
    return {"outage_id": o.outage_id, "scope": o.scope.value, "area": o.area, "utilities": list(o.utilities),
            "start": o.start, "end": o.effective_end, "start_local": local_time(o.start, desk.tz),
            "end_local": local_time(o.effective_end, desk.tz), "reason": o.reason, "by": o.created_by,
            "current": o.covers(now), "over": o.effective_end <= now}


def outage_sees(desk: Desk, account: StaffAccount, o: Outage) -> bool:
    """An outage is in an account's scope when any home it covers is."""
    reg = desk.registry
    column = {OutageScope.BUILDING: reg.building, OutageScope.GRID: reg.grid,
              OutageScope.COMMUNITY: reg.community}[o.scope]
    return bool((_in_scope(desk, account) & (column == o.area)).any())


def household_sees(desk: Desk, account: StaffAccount, household_id: str) -> bool:
    i = desk.registry.household_index.get(household_id)
    return i is not None and account.sees(str(desk.registry.community[i]), str(desk.registry.grid[i]))


__all__ = ["STATES", "absence_row", "board", "household_sees", "ledger_rows", "order_row", "outage_row",
           "outage_sees", "visible_orders"]
