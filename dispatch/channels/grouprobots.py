"""WeCom (企业微信) group-bot and DingTalk (钉钉) custom-robot webhooks, markdown messages.

WeCom (developer.work.weixin.qq.com/document/path/91770, 群机器人配置说明)::

    POST https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY
    {"msgtype": "markdown", "markdown": {"content": "..."}}   content <= 4096 bytes UTF-8

DingTalk (open.dingtalk.com/document/orgapp/custom-robot-access, 自定义机器人)::

    POST https://oapi.dingtalk.com/robot/send?access_token=TOKEN[&timestamp=MS&sign=SIGN]
    {"msgtype": "markdown", "markdown": {"title": "...", "text": "..."},
     "at": {"atMobiles": ["138..."], "isAtAll": false}}

Both answer HTTP 200 with ``{"errcode": 0, "errmsg": "ok"}``; a non-zero errcode is a
failure: rate limits (20 messages a minute per bot: WeCom 45009, DingTalk 130101)
and "system busy" (-1) are retried, anything else (bad key, sign mismatch, missing
keyword, content too long) is not. Neither carries custom fields, so the delivery's
idempotency key goes into the text's last line.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

import orjson

from dispatch.channels.base import DeliveryError
from dispatch.channels.httppost import post_json
from dispatch.channels.markdown import fit_utf8, ticket_markdown
from lifesign.grid import Worker

WECOM_MARKDOWN_MAX_BYTES = 4096
#: DingTalk documents no markdown size; its text messages stop at 20000 bytes, used here too
DINGTALK_MARKDOWN_MAX_BYTES = 20000
WECOM_RETRYABLE = frozenset({-1, 45009})
DINGTALK_RETRYABLE = frozenset({-1, 130101})


def _reference(payload: dict[str, Any]) -> str:
    return f"\n\nref: {payload.get('idempotency_key', '')}"


def _check_reply(channel: str, recipient: str, body: bytes, retryable: frozenset[int]) -> None:
    try:
        reply = orjson.loads(body)
        code = int(reply.get("errcode", 0))
    except (orjson.JSONDecodeError, AttributeError, TypeError, ValueError) as exc:
        raise DeliveryError(channel, recipient, f"unreadable reply {body[:200]!r}", True) from exc
    if code != 0:
        raise DeliveryError(channel, recipient, f"errcode {code}: {reply.get('errmsg', '')}", code in retryable)


def mainland_mobile(phone: str) -> str:
    """The 11-digit mobile number DingTalk's atMobiles expects, or "" if it is not one.

    >>> mainland_mobile("+86 138 0000 0001"), mainland_mobile("+86 21 0000 0000")
    ('13800000001', '')
    """
    digits = re.sub(r"\D", "", phone)
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    return digits if len(digits) == 11 and digits.startswith("1") else ""


class WeComChannel:
    reaches_contacts = False  # a staff group

    def __init__(self, url: str, *, name: str = "wecom", timeout_s: float = 5.0) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"wecom url must start with http:// or https://, got {url!r}")
        self.name = name
        self.url = url
        self.timeout_s = timeout_s

    def message(self, recipient: Worker, payload: dict[str, Any]) -> dict[str, Any]:
        content = fit_utf8(ticket_markdown(payload, recipient), WECOM_MARKDOWN_MAX_BYTES, _reference(payload))
        return {"msgtype": "markdown", "markdown": {"content": content}}

    def deliver(self, recipient: Worker, ticket_payload: dict[str, Any]) -> None:
        body = orjson.dumps(self.message(recipient, ticket_payload))
        reply = post_json(self.name, recipient.worker_id, self.url, body, self.timeout_s)
        _check_reply(self.name, recipient.worker_id, reply.body, WECOM_RETRYABLE)


class DingTalkChannel:
    reaches_contacts = False  # a staff group

    def __init__(self, url: str, *, name: str = "dingtalk", secret: str | None = None, timeout_s: float = 5.0,
                 wall_clock_ms: Callable[[], int] = lambda: int(time.time() * 1000)) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"dingtalk url must start with http:// or https://, got {url!r}")
        self.name = name
        self.url = url
        self.secret = secret
        self.timeout_s = timeout_s
        # the signature must be within an hour of DingTalk's real clock, never simulated time
        self._wall_clock_ms = wall_clock_ms

    def message(self, recipient: Worker, payload: dict[str, Any]) -> dict[str, Any]:
        mobile = mainland_mobile(recipient.phone)
        # DingTalk shows the @ only when the text names the number too
        text = fit_utf8(ticket_markdown(payload, recipient, f"@{mobile}" if mobile else ""),
                        DINGTALK_MARKDOWN_MAX_BYTES, _reference(payload))
        title = str(payload.get("title", "lifesign work order"))[:100]
        return {"msgtype": "markdown", "markdown": {"title": title, "text": text},
                "at": {"atMobiles": [mobile] if mobile else [], "isAtAll": False}}

    def signed_url(self) -> str:
        if not self.secret:
            return self.url
        timestamp = str(self._wall_clock_ms())
        digest = hmac.new(self.secret.encode(), f"{timestamp}\n{self.secret}".encode(), hashlib.sha256).digest()
        sign = urllib.parse.quote_plus(base64.b64encode(digest))
        return f"{self.url}{'&' if '?' in self.url else '?'}timestamp={timestamp}&sign={sign}"

    def deliver(self, recipient: Worker, ticket_payload: dict[str, Any]) -> None:
        body = orjson.dumps(self.message(recipient, ticket_payload))
        reply = post_json(self.name, recipient.worker_id, self.signed_url(), body, self.timeout_s)
        _check_reply(self.name, recipient.worker_id, reply.body, DINGTALK_RETRYABLE)
