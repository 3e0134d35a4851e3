"""The JSON API behind the pages (OpenAPI at /docs): the same views and the same order
actions (dispatch.actions). Staff authenticate with the session cookie from
``POST /api/login`` and send its CSRF token in ``X-CSRF-Token`` with every change."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from app.web import mute_edits
from app.web.auth import Staff, check_csrf, desk_of
from app.web.household_page import household_detail
from app.web.login_page import start_session
from app.web.ops_page import ledger_csv
from app.web.staff import LoginRefused, StaffSession
from app.web.views import (
    absence_row,
    board,
    household_sees,
    ledger_rows,
    order_row,
    outage_row,
    outage_sees,
    visible_orders,
)
from dispatch.absences import OutageScope
from dispatch.actions import MAX_NOTE_CHARS, Actor, ActorKind
from dispatch.orderstores.lifecycle import OrderLookupError, OrderStateError
from lifesign.grid import Utility

router = APIRouter(prefix="/api", tags=["api"])


class Login(BaseModel):
    name: str
    password: str


class OrderStep(BaseModel):
    outcome: str | None = Field(None, description="resolve only: resident_fine, assisted, hospitalised, away, "
                                                  "meter_fault, false_alarm")
    note: str = Field("", max_length=MAX_NOTE_CHARS)


class NewAbsence(BaseModel):
    household_id: str
    start: float = Field(description="epoch seconds")
    end: float = Field(description="epoch seconds")
    reason: str = Field(min_length=1)


class NewOutage(BaseModel):
    scope: OutageScope
    area: str
    utilities: list[Utility] = Field(min_length=1)
    start: float
    end: float
    reason: str = Field(min_length=1)


def _staff_change(session: Staff, x_csrf_token: Annotated[str | None, Header()] = None) -> StaffSession:
    check_csrf(session, x_csrf_token)
    return session


#: a route parameter of this type requires a session and its CSRF token in X-CSRF-Token
StaffChange = Annotated[StaffSession, Depends(_staff_change)]


@router.post("/login")
def login(request: Request, body: Login) -> Response:
    desk = desk_of(request)
    try:
        session = desk.staff.login(body.name, body.password, desk.session_clock.now())
    except LoginRefused as exc:
        if exc.retry_after_s:
            return JSONResponse({"detail": str(exc)}, 429, {"Retry-After": str(math.ceil(exc.retry_after_s))})
        return JSONResponse({"detail": str(exc)}, 401)
    response = JSONResponse({"name": session.account.name, "role": session.account.role.value,
                             "area": session.account.area, "csrf": session.csrf})
    start_session(request, response, session)
    return response


@router.get("/orders")
def orders(request: Request, session: Staff, active: bool = True, community: str = "", grid: str = "",
           status: str = "") -> list[dict[str, Any]]:
    desk = desk_of(request)
    return [order_row(desk, o) for o in visible_orders(desk, session.account, active_only=active,
                                                       community=community, grid=grid, status=status)]


def _order_in_scope(request: Request, order_id: int, session: StaffSession) -> Any:
    desk = desk_of(request)
    try:
        order = desk.orders.get(order_id)
    except OrderLookupError:
        raise HTTPException(404, f"no work order {order_id}") from None
    if not desk.sees(session.account, order):
        raise HTTPException(403, "this order is outside your area")
    return order


@router.get("/orders/{order_id}")
def order(request: Request, order_id: int, session: Staff) -> dict[str, Any]:
    desk = desk_of(request)
    found = _order_in_scope(request, order_id, session)
    return {**order_row(desk, found), "evidence": found.evidence, "ledger": ledger_rows(desk, found)}


@router.post("/orders/{order_id}/{action}")
async def order_step(request: Request, order_id: int, action: str, body: OrderStep,
                     session: StaffChange) -> dict[str, Any]:
    """``action``: ack (接单), onsite (到场) or resolve (结案, with an outcome)."""
    desk = desk_of(request)
    await run_in_threadpool(_order_in_scope, request, order_id, session)
    try:
        done = await run_in_threadpool(desk.act, order_id, action, Actor(ActorKind.STAFF, session.account.name),
                                       body.outcome, body.note)
    except OrderStateError as exc:
        raise HTTPException(409, str(exc)) from None
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
    return order_row(desk, done)


@router.get("/board")
def board_view(request: Request, session: Staff, community: str = "", grid: str = "") -> dict[str, Any]:
    return board(desk_of(request), session.account, community, grid)


@router.get("/households/{household_id}")
def household(request: Request, household_id: str, session: Staff) -> dict[str, Any]:
    desk = desk_of(request)
    if not household_sees(desk, session.account, household_id):
        raise HTTPException(404, f"no household {household_id!r} in your area")
    return {"household_id": household_id, **household_detail(desk, household_id)}


@router.get("/absences")
def absences(request: Request, session: Staff) -> list[dict[str, Any]]:
    desk = desk_of(request)
    return [absence_row(desk, a) for a in desk.mutes.absences() if household_sees(desk, session.account, a.household_id)]


@router.post("/absences")
def add_absence(request: Request, body: NewAbsence, session: StaffChange) -> dict[str, Any]:
    desk = desk_of(request)
    return absence_row(desk, mute_edits.add_absence(desk, session.account, body.household_id, body.start, body.end,
                                                    body.reason))


@router.get("/outages")
def outages(request: Request, session: Staff) -> list[dict[str, Any]]:
    desk = desk_of(request)
    return [outage_row(desk, o) for o in desk.mutes.outages() if outage_sees(desk, session.account, o)]


@router.post("/outages")
def add_outage(request: Request, body: NewOutage, session: StaffChange) -> dict[str, Any]:
    desk = desk_of(request)
    return outage_row(desk, mute_edits.add_outage(desk, session.account, body.scope, body.area,
                                                  tuple(u.value for u in body.utilities), body.start, body.end,
                                                  body.reason))


@router.post("/{kind}/{item_id}/end")
def end_mute(request: Request, kind: Literal["absences", "outages"], item_id: int,
             session: StaffChange) -> dict[str, Any]:
    """End an absence (the resident is back early) or an outage (the supply is back) now."""
    desk = desk_of(request)
    if kind == "absences":
        return absence_row(desk, mute_edits.end_absence(desk, session.account, item_id))
    return outage_row(desk, mute_edits.end_outage(desk, session.account, item_id))


@router.get("/ledger.csv")
def ledger(request: Request, session: Staff) -> Response:
    return Response(ledger_csv(desk_of(request), session), media_type="text/csv; charset=utf-8")


__all__ = ["router"]
