"""The operations view (一张网): open orders by community, grid and status with their
escalation level and age, the three-colour board of homes, absences and planned outages
created and ended here, and the ledger as CSV. The page polls its live part."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from app.ledger_csv import ledger_rows, write_ledger_csv
from app.web import mute_edits
from app.web.auth import Staff, check_csrf, desk_of
from app.web.desk import Desk
from app.web.i18n import words
from app.web.render import lang_of, page
from app.web.staff import StaffSession
from app.web.views import (
    STATES,
    absence_row,
    board,
    household_sees,
    order_row,
    outage_row,
    outage_sees,
    visible_orders,
)
from dispatch.absences import OutageScope
from dispatch.mutes.records import area_of
from lifesign.grid import Tier, Utility

router = APIRouter()


def _filters(request: Request) -> dict[str, str]:
    q = request.query_params
    return {"community": q.get("community", ""), "grid": q.get("grid", ""), "status": q.get("status", "")}


def live_context(request: Request, session: StaffSession) -> dict[str, Any]:
    desk, t = desk_of(request), words(lang_of(request))
    f = _filters(request)
    orders = visible_orders(desk, session.account, community=f["community"], grid=f["grid"], status=f["status"])
    return {"orders": [order_row(desk, o, t) for o in orders], "board": board(desk, session.account,
                                                                               f["community"], f["grid"]),
            "states": STATES, "tiers": [tier.value for tier in Tier], "filters": f}


@router.get("/ops", response_class=HTMLResponse)
def ops(request: Request, session: Staff) -> Response:
    desk = desk_of(request)
    now = desk.clock.now()
    absences = [absence_row(desk, a) for a in desk.mutes.absences()
                if a.effective_end > now and household_sees(desk, session.account, a.household_id)]
    outages = [outage_row(desk, o) for o in desk.mutes.outages()
               if o.effective_end > now and outage_sees(desk, session.account, o)]
    return page(request, "ops_page.html", {
        **live_context(request, session), "account": session.account, "csrf": session.csrf, "absences": absences,
        "outages": outages, "scopes": [s.value for s in OutageScope], "utilities": [u.value for u in Utility],
        "poll_s": desk.poll_s, "title": words(lang_of(request))("ops"), "now_local": _local_input(desk, now)})


@router.get("/ops/live", response_class=HTMLResponse)
def ops_live(request: Request, session: Staff) -> Response:
    return page(request, "ops_live.html", live_context(request, session))


def _local_input(desk: Desk, at: float) -> str:
    return datetime.fromtimestamp(at, desk.tz).strftime("%Y-%m-%dT%H:%M")


def parse_local(desk: Desk, text: str, field: str) -> float:
    """A ``datetime-local`` field in the site's zone."""
    try:
        return datetime.fromisoformat(text).replace(tzinfo=desk.tz).timestamp()
    except ValueError:
        raise HTTPException(400, f"{field} must be a local time YYYY-MM-DDTHH:MM, got {text!r}") from None


async def _staff_form(request: Request, session: StaffSession) -> dict[str, Any]:
    form = await request.form()
    check_csrf(session, str(form.get("csrf", "")))
    return {k: form.getlist(k) if k == "utility" else str(v) for k, v in form.items()}


def _back(request: Request) -> RedirectResponse:
    return RedirectResponse(f"/ops?lang={lang_of(request)}", 303)


@router.post("/ops/absences")
async def add_absence(request: Request, session: Staff) -> Response:
    form, desk = await _staff_form(request, session), desk_of(request)
    start = parse_local(desk, form.get("start") or _local_input(desk, desk.clock.now()), "start")
    end = parse_local(desk, form.get("end", ""), "end")
    await run_in_threadpool(mute_edits.add_absence, desk, session.account, form.get("household_id", "").strip(),
                            start, end, form.get("reason", ""))
    return _back(request)


@router.post("/ops/outages")
async def add_outage(request: Request, session: Staff) -> Response:
    form, desk = await _staff_form(request, session), desk_of(request)
    try:
        scope = OutageScope(form.get("scope", ""))
        utilities = tuple(Utility(u).value for u in form.get("utility", []))
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
    start = parse_local(desk, form.get("start") or _local_input(desk, desk.clock.now()), "start")
    end = parse_local(desk, form.get("end", ""), "end")
    await run_in_threadpool(mute_edits.add_outage, desk, session.account, scope, form.get("area", "").strip(),
                            utilities, start, end, form.get("reason", ""))
    return _back(request)


@router.post("/ops/{kind}/{item_id}/end")
async def end_mute(request: Request, kind: str, item_id: int, session: Staff) -> Response:
    """End an absence (the resident is back) or an outage (the supply is back) now."""
    await _staff_form(request, session)
    end = {"absences": mute_edits.end_absence, "outages": mute_edits.end_outage}.get(kind)
    if end is None:
        raise HTTPException(404, f"nothing called {kind!r} ends here")
    await run_in_threadpool(end, desk_of(request), session.account, item_id)
    return _back(request)


def ledger_csv(desk: Desk, session: StaffSession) -> str:
    def keep(subject: str) -> bool:
        area = area_of(subject)
        if area is None:
            return household_sees(desk, session.account, subject)
        try:
            return session.account.sees(*desk.assigner.area_place(*area))
        except LookupError:
            return False

    out = io.StringIO()
    write_ledger_csv(out, ledger_rows(desk.orders, desk.mutes, keep=keep), desk.tz)
    return out.getvalue()


@router.get("/ops/ledger.csv")
def export_ledger(request: Request, session: Staff) -> Response:
    return Response(ledger_csv(desk_of(request), session), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="lifesign-ledger.csv"'})


__all__ = ["ledger_csv", "live_context", "router"]
