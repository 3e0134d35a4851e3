"""A real HTTP server on 127.0.0.1 standing in for webhook receivers (WeCom, DingTalk, a
generic webhook): it records every request it accepted, keyed by the delivery's
idempotency key, and can be told to fail the next requests (503, or a bot errcode)."""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_REF = re.compile(r"ref: (\S+)\s*$")


def key_of(path: str, headers: dict[str, str], body: dict[str, Any]) -> str:
    """The idempotency key of a request, wherever its format carries it."""
    if "Idempotency-Key" in headers:
        return headers["Idempotency-Key"]
    markdown = body.get("markdown", {})
    text = markdown.get("content") or markdown.get("text") or ""
    found = _REF.search(text)
    return found.group(1) if found else ""


class Receiver:
    def __init__(self, port: int) -> None:
        self.port = port
        self.accepted: list[tuple[str, str, dict[str, Any]]] = []  # (path, key, body)
        self.refused = 0
        self._fail: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def fail_next(self, path_prefix: str, *replies: tuple[int, dict[str, Any]]) -> None:
        """The next requests to paths starting with ``path_prefix`` get these (status, JSON
        body) replies and are not accepted."""
        with self._lock:
            self._fail.setdefault(path_prefix, []).extend(replies)

    def counts(self, prefix: str = "") -> Counter[str]:
        with self._lock:
            return Counter(key for path, key, _ in self.accepted if path.startswith(prefix))

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                with receiver._lock:
                    queue = next((q for prefix, q in receiver._fail.items()
                                  if self.path.startswith(prefix) and q), None)
                    failing = queue.pop(0) if queue else None
                    if failing is None:
                        receiver.accepted.append((self.path, key_of(self.path, dict(self.headers), body), body))
                    else:
                        receiver.refused += 1
                status, reply = failing if failing is not None else (200, {"errcode": 0, "errmsg": "ok"})
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
