"""The desk as an ASGI app, served by uvicorn in a thread of the service.

Every response carries a strict Content-Security-Policy (only this desk's own script and
stylesheet), no Referer (a worker's link must not leak to another site) and no caching.
No access log: a URL holds a worker's link signature.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from app.web import api, household_page, login_page, ops_page, order_page
from app.web.auth import LoginRequired, login_url
from app.web.desk import Desk
from app.web.render import HERE, page

SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                                "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def build_app(desk: Desk) -> FastAPI:
    # FastAPI's own /docs page loads Swagger UI from a CDN: the desk serves its own list instead
    app = FastAPI(title="lifesign desk", version="1", docs_url=None, redoc_url=None,
                  openapi_url="/openapi.json")
    app.state.desk = desk
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    for module in (order_page, login_page, ops_page, household_page, api):
        app.include_router(module.router)

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        if request.method == "GET" and not request.url.path.startswith("/api/"):
            return RedirectResponse(login_url(request), 303)
        return JSONResponse({"detail": "log in first"}, 401)

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.get("/", include_in_schema=False)
    def home() -> Response:
        return RedirectResponse("/ops", 303)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/docs", include_in_schema=False, response_class=HTMLResponse)
    def docs(request: Request) -> Response:
        schema: dict[str, Any] = app.openapi()
        routes = [(method.upper(), path, (op.get("summary") or ""), (op.get("description") or ""))
                  for path, ops in schema["paths"].items() for method, op in ops.items()]
        return page(request, "api_docs.html", {"routes": routes, "title": "API"})

    return app


class WebServer:
    """uvicorn serving the desk on ``host:port`` (0: a free port) until :meth:`stop`."""

    def __init__(self, app: FastAPI, host: str, port: int) -> None:
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, lifespan="off",
                                server_header=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="lifesign-web", daemon=True)
        self.host = host
        self.port = port

    def start(self, timeout_s: float = 15.0) -> None:
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started and time.monotonic() < deadline:
            if not self._thread.is_alive():
                raise OSError(f"the web desk could not listen on {self.host}:{self.port}")
            time.sleep(0.02)
        if not self._server.started:
            raise OSError(f"the web desk did not start on {self.host}:{self.port}")
        self.port = int(self._server.servers[0].sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():  # a service stopped before it started never ran it
            self._thread.join(timeout=10)


__all__ = ["SECURITY_HEADERS", "WebServer", "build_app"]
