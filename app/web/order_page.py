"""The order's page: what a grid worker needs at the door, and accept (接单), on site (到场),
resolve (结案). Opened from the signed link in a ticket, or by logged-in staff in scope."""

from __future__ import annotations

import hmac
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from app.web.auth import check_csrf, current_session, desk_of, login_url
from app.web.chart import svg_chart, usage_series
from app.web.desk import ACTIONS, Desk
from app.web.i18n import words
from app.web.links import LinkError
from app.web.render import lang_of, page
from app.web.views import ledger_rows, order_row
from dispatch.actions import Actor, ActorKind
from dispatch.assign import contact_phone
from dispatch.mutes.records import area_of
from dispatch.orderstores.lifecycle import OrderLookupError, OrderStateError
from lifesign.clock import local_time
from lifesign.grid import Utility
from lifesign.workorders import OrderStatus, Outcome, WorkOrder

router = APIRouter()
CHART_S = 48 * 3600.0
#: what a person may do next, by status (the lifecycle refuses anything else anyway)
NEXT = {OrderStatus.OPEN: ("ack",), OrderStatus.NOTIFIED: ("ack",), OrderStatus.ACKNOWLEDGED: ("onsite", "resolve"),
        OrderStatus.ONSITE: ("resolve",), OrderStatus.RESOLVED: ()}
_DONE = {"ack": "accepted_msg", "resolve": "resolved_msg"}


class Caller:
    """Who opened the page: a worker by their link, or staff by their session."""

    def __init__(self, actor: Actor, form_fields: dict[str, str], query: str) -> None:
        self.actor = actor
        self.form_fields = form_fields
        self.query = query


def _link_caller(desk: Desk, order_id: int, w: str, exp: str, sig: str) -> Caller:
    claim = desk.links.check(order_id, w, exp, sig)
    order = desk.orders.get(order_id)
    if w not in desk.holders(order):
        raise LinkError("this order is not yours")
    fields = {"w": w, "exp": exp, "sig": sig, "csrf": desk.links.form_token(claim)}
    return Caller(Actor(ActorKind.WORKER, w), fields, urlencode({"w": w, "exp": exp, "sig": sig}))


def _caller(request: Request, order_id: int, params: dict[str, str]) -> Caller:
    desk = desk_of(request)
    if params.get("sig") or params.get("w"):
        return _link_caller(desk, order_id, params.get("w", ""), params.get("exp", ""), params.get("sig", ""))
    session = current_session(request)
    if session is None:
        raise HTTPException(401, "log in, or open the link in your ticket")
    if not desk.sees(session.account, desk.orders.get(order_id)):
        raise HTTPException(403, "this order is outside your area")
    return Caller(Actor(ActorKind.STAFF, session.account.name), {"csrf": session.csrf}, "")


def refused(request: Request, exc: LinkError, status: int = 403) -> HTMLResponse:
    t = words(lang_of(request))
    return page(request, "refused_page.html", {"reason": exc.reason, "title": t("link_refused")}, status)


@router.get("/o/{order_id}", response_class=HTMLResponse)
def order_page(request: Request, order_id: int) -> Response:
    params = dict(request.query_params)
    try:
        caller = _caller(request, order_id, params)
    except LinkError as exc:
        return refused(request, exc)
    except OrderLookupError:
        raise HTTPException(404, f"no work order {order_id}") from None
    except HTTPException as exc:
        if exc.status_code == 401:
            return RedirectResponse(login_url(request), 303)
        raise
    done = params.get("done", "")
    return render_order(request, desk_of(request), desk_of(request).orders.get(order_id), caller,
                        message=words(lang_of(request))(_DONE[done]) if done in _DONE else None)


def render_order(request: Request, desk: Desk, order: WorkOrder, caller: Caller, error: str | None = None,
                 message: str | None = None, status_code: int = 200) -> HTMLResponse:
    t = words(lang_of(request))
    row = order_row(desk, order, t)
    household = None if area_of(order.household_id) else desk.registry.household_by_id(order.household_id)
    now = desk.clock.now()
    evidence = order.evidence
    activity = [(t(u.value), local_time(evidence[f"last_usage_{u.value}"], desk.tz)
                 if f"last_usage_{u.value}" in evidence else t("no_data"))
                for u in (Utility.WATER, Utility.ELECTRICITY, Utility.GAS)
                if household is None or f"last_usage_{u.value}" in evidence or u is not Utility.GAS]
    chart = None
    if household is not None:
        series = usage_series(desk.history, desk.registry, household.household_id, now - CHART_S, now)
        chart = svg_chart(series, now - CHART_S, 3600.0, desk.tz,
                          {"title": t("chart"), "empty": t("chart_empty"), "water": t("water"),
                           "electricity": t("electricity")})
    rule = order.rule.split(":")[1] if area_of(order.household_id) else order.rule
    todo = (t("do.infrastructure") if area_of(order.household_id) else
            t(f"do.{rule}") if rule in ("continuous_flow", "meter_offline", "meter_stuck") else t(f"do.{order.tier}"))
    context: dict[str, Any] = {
        "order": row, "household": household, "activity": activity, "chart": chart, "todo": todo,
        "silence_h": _h(evidence.get("confirmed_silence_s")), "threshold_h": _h(evidence.get("threshold_s")),
        "so_far_h": _h(evidence.get("silence_so_far_s")),
        # a lamp or TV left on brought the order forward (dispatch.ticket says the same)
        "left_on": None if evidence.get("left_on_s") is None or evidence.get("power_w") is None
        or evidence.get("quiet_w") is None else
        (f"{evidence['power_w'] - evidence['quiet_w']:.0f}", _h(evidence["left_on_s"])),
        # a power-meter-only home's alarm waited for its floor (dispatch.ticket says the same)
        "power_only_h": _h(evidence.get("electricity_only_s")),
        "contact_phone": contact_phone(household.resident.emergency_contact) if household else "",
        "next": NEXT[order.status], "fields": caller.form_fields, "query": caller.query,
        "outcomes": [(o.value, t(f"outcome.{o.value}")) for o in Outcome], "ledger": ledger_rows(desk, order),
        "staff": caller.actor.kind is ActorKind.STAFF, "error": error, "message": message,
        "title": f"{t('order')} #{order.order_id}",
    }
    return page(request, "order_page.html", context, status_code)


@router.post("/o/{order_id}/{action}")
async def order_action(request: Request, order_id: int, action: str) -> Response:
    if action not in ACTIONS:
        raise HTTPException(404, f"no action {action!r}")
    form = {k: str(v) for k, v in (await request.form()).items()}
    desk = desk_of(request)
    try:
        caller = await run_in_threadpool(_caller, request, order_id, form)
    except LinkError as exc:
        return refused(request, exc)
    except OrderLookupError:
        raise HTTPException(404, f"no work order {order_id}") from None
    expected = caller.form_fields["csrf"]
    if caller.actor.kind is ActorKind.STAFF:
        session = current_session(request)
        assert session is not None
        check_csrf(session, form.get("csrf"))
    elif not hmac.compare_digest(form.get("csrf", ""), expected):
        raise HTTPException(403, "missing or wrong CSRF token")
    try:
        await run_in_threadpool(desk.act, order_id, action, caller.actor, form.get("outcome"), form.get("note", ""))
    except (OrderStateError, ValueError) as exc:
        order = desk.orders.get(order_id)
        return render_order(request, desk, order, caller, error=str(exc), status_code=409)
    query = "&".join(q for q in (caller.query, f"done={action}") if q)
    return RedirectResponse(f"/o/{order_id}?{query}", 303)


def _h(seconds: float | None) -> str | None:
    return None if seconds is None else f"{seconds / 3600:.1f}"


__all__ = ["router"]
