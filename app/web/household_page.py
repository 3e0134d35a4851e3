"""One home: who lives there, its usage over the last week, its alerts, its orders and
their ledger, its absences. Staff in scope only."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from app.web.auth import Staff, desk_of
from app.web.chart import svg_chart, usage_series
from app.web.desk import Desk
from app.web.i18n import words
from app.web.render import lang_of, page
from app.web.views import absence_row, household_sees, ledger_rows, order_row
from dispatch.mutes.records import WAITING
from lifesign.clock import local_time

router = APIRouter()
TIMELINE_S = 7 * 86400.0
TIMELINE_STEP_S = 3 * 3600.0


def household_detail(desk: Desk, household_id: str, t: object = None) -> dict[str, object]:
    now = desk.clock.now()
    orders = [o for o in desk.orders.list() if o.household_id == household_id]
    alerts = [{"rule": a.key.rule, "since_local": local_time(a.key.episode_start, desk.tz), "state": "open"}
              for a in desk.open_episodes(now) if a.household_id == household_id]
    alerts += [{"rule": w.key.rule, "since_local": local_time(w.key.episode_start, desk.tz),
                "state": f"{w.fate.value}: {w.reason}"}
               for w in desk.mutes.waiting() if w.key.household_id == household_id and w.fate in WAITING]
    return {
        "orders": [{**order_row(desk, o, t if callable(t) else None), "ledger": ledger_rows(desk, o)}
                   for o in reversed(orders)],
        "alerts": alerts,
        "absences": [absence_row(desk, a) for a in desk.mutes.absences(household_id)],
    }


@router.get("/households/{household_id}", response_class=HTMLResponse)
def household_page(request: Request, household_id: str, session: Staff) -> Response:
    desk, t = desk_of(request), words(lang_of(request))
    if not household_sees(desk, session.account, household_id):
        raise HTTPException(404, f"no household {household_id!r} in your area")
    household = desk.registry.household_by_id(household_id)
    now = desk.clock.now()
    series = usage_series(desk.history, desk.registry, household_id, now - TIMELINE_S, now, TIMELINE_STEP_S)
    chart = svg_chart(series, now - TIMELINE_S, TIMELINE_STEP_S, desk.tz,
                      {"title": t("timeline"), "empty": t("chart_empty"), "water": t("water"),
                       "electricity": t("electricity")}, width=1400, panel=110)
    return page(request, "household_page.html", {
        "household": household, "chart": chart, **household_detail(desk, household_id, t),
        "title": f"{t('household')} {household_id}"})


__all__ = ["household_detail", "router"]
