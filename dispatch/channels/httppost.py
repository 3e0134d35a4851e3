"""POST JSON over HTTP and sort the outcome into confirmed, retry later, or give up.

Plain urllib (no new dependency). Recoverable: the receiver cannot be reached, times
out, answers 408, 429 or 5xx. Not recoverable: any other 4xx (a wrong URL or token
stays wrong). A timeout after the request was sent may mean the receiver has it
already: the retry carries the same idempotency key, so the receiver can drop it.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass

from dispatch.channels.base import DeliveryError

RETRYABLE_STATUS = frozenset({408, 425, 429})


@dataclass(frozen=True)
class HttpReply:
    status: int
    body: bytes


def post_json(channel: str, recipient: str, url: str, body: bytes, timeout_s: float,
              headers: dict[str, str] | None = None) -> HttpReply:
    """POST ``body``; returns a 2xx reply, else raises DeliveryError saying whether to retry."""
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json; charset=utf-8", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return HttpReply(response.status, response.read())
    except urllib.error.HTTPError as exc:
        status = exc.code
        recoverable = status >= 500 or status in RETRYABLE_STATUS
        detail = exc.read()[:200].decode("utf-8", "replace") if exc.fp is not None else ""
        raise DeliveryError(channel, recipient, f"HTTP {status} from {_safe(url)}: {detail}".rstrip(": "),
                            recoverable) from exc
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DeliveryError(channel, recipient, f"{_safe(url)} unreachable ({reason})", True) from exc


def _safe(url: str) -> str:
    """The URL without its query string: webhook keys and tokens stay out of logs and the ledger.

    >>> _safe("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=SECRET")
    'https://qyapi.weixin.qq.com/cgi-bin/webhook/send'
    """
    return url.split("?", 1)[0]
