"""Rendering a page: the templates beside their routes, the language, the shared layout."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from app.web.i18n import pick_lang, words

LANG_COOKIE = "lifesign_lang"
HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=str(HERE))


def lang_of(request: Request) -> str:
    return pick_lang(request.query_params.get("lang"), request.cookies.get(LANG_COOKIE))


def page(request: Request, template: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    """Render ``template`` (a file beside the route) with the language and its switch."""
    lang = lang_of(request)
    other = "en" if lang == "zh" else "zh"
    query = dict(request.query_params)
    query["lang"] = other
    switch = request.url.path + "?" + urlencode(query)
    response = templates.TemplateResponse(
        request, template, {"t": words(lang), "lang": lang, "switch_url": switch, **context},
        status_code=status_code)
    if request.query_params.get("lang") == lang:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, httponly=True, samesite="lax")
    return response


__all__ = ["LANG_COOKIE", "lang_of", "page", "templates"]
