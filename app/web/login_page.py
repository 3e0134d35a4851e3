"""Staff log in and out. Ten wrong passwords in a row for a name make the next attempt
wait (429 with Retry-After), checked before the password is even looked at."""

from __future__ import annotations

import hmac
import math
import secrets

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from app.web.auth import SESSION_COOKIE, check_csrf, current_session, desk_of, safe_next
from app.web.i18n import words
from app.web.render import lang_of, page
from app.web.staff import LoginRefused, StaffSession

router = APIRouter()
#: the login form's CSRF token, double-submitted (cookie and field): there is no session yet
LOGIN_CSRF_COOKIE = "lifesign_login_csrf"


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> Response:
    return _form(request, None, 200)


def _form(request: Request, error: str | None, status: int, retry_after: float = 0.0) -> Response:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    response = page(request, "login_page.html", {"csrf": token, "next": safe_next(request.query_params.get("next")),
                                                  "error": error, "title": words(lang_of(request))("login")}, status)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict",
                        secure=desk_of(request).secure_cookies)
    if retry_after:
        response.headers["Retry-After"] = str(math.ceil(retry_after))
    return response


def start_session(request: Request, response: Response, session: StaffSession) -> None:
    response.set_cookie(SESSION_COOKIE, session.token, httponly=True, samesite="lax",
                        secure=desk_of(request).secure_cookies,
                        max_age=int(session.expires_at - desk_of(request).session_clock.now()))


@router.post("/login")
async def login(request: Request) -> Response:
    form = await request.form()
    token, cookie = str(form.get("csrf", "")), request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not token or not cookie or not hmac.compare_digest(token, cookie):
        raise HTTPException(403, "missing or wrong CSRF token")
    desk, t = desk_of(request), words(lang_of(request))
    try:
        session = await run_in_threadpool(desk.staff.login, str(form.get("name", "")),
                                          str(form.get("password", "")), desk.session_clock.now())
    except LoginRefused as exc:
        if exc.retry_after_s:
            return _form(request, t("login_locked"), 429, exc.retry_after_s)
        return _form(request, t("login_wrong"), 401)
    response = RedirectResponse(safe_next(str(form.get("next", ""))), 303)
    start_session(request, response, session)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    session = current_session(request)
    if session is not None:
        check_csrf(session, str((await request.form()).get("csrf", "")))
        desk_of(request).staff.logout(session.token)
    response = RedirectResponse("/login", 303)
    response.delete_cookie(SESSION_COOKIE)
    return response


__all__ = ["router", "start_session"]
