"""Who is asking: a staff session (cookie, CSRF token per session) for the operations view
and the API; a worker's signed link for their order's page (see :mod:`app.web.links`)."""

from __future__ import annotations

import hmac
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request

from app.web.desk import Desk
from app.web.staff import StaffSession

SESSION_COOKIE = "lifesign_session"
#: the header API clients send the session's CSRF token in
CSRF_HEADER = "X-CSRF-Token"


class LoginRequired(Exception):
    """No valid session: a page redirects to the login, anything else answers 401."""


def desk_of(request: Request) -> Desk:
    desk: Desk = request.app.state.desk
    return desk


def current_session(request: Request) -> StaffSession | None:
    desk = desk_of(request)
    return desk.staff.session(request.cookies.get(SESSION_COOKIE, ""), desk.session_clock.now())


def require_staff(request: Request) -> StaffSession:
    """A FastAPI dependency: the logged-in staff member, or LoginRequired."""
    session = current_session(request)
    if session is None:
        raise LoginRequired()
    return session


#: a route parameter of this type requires a logged-in staff member
Staff = Annotated[StaffSession, Depends(require_staff)]


def check_csrf(session: StaffSession, token: str | None) -> None:
    """Every state change by staff carries the session's CSRF token (form field or header)."""
    if not token or not hmac.compare_digest(token, session.csrf):
        raise HTTPException(403, "missing or wrong CSRF token")


def login_url(request: Request) -> str:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"/login?next={quote(target, safe='')}"


def safe_next(target: str | None) -> str:
    """Only a path on this desk: a login never sends anyone elsewhere.

    >>> safe_next("/ops?grid=G01"), safe_next("//evil.example"), safe_next("https://x")
    ('/ops?grid=G01', '/ops', '/ops')
    """
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/ops"
    return target


__all__ = ["CSRF_HEADER", "SESSION_COOKIE", "LoginRequired", "Staff", "check_csrf", "current_session", "desk_of",
           "login_url", "require_staff", "safe_next"]
