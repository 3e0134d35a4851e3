"""A generic JSON webhook: the whole ticket, the recipient, and an ``Idempotency-Key`` header.

The body is the ticket payload (with its ``idempotency_key``) plus a ``recipient``
object; any 2xx confirms. Point it at an SMS or voice gateway to reach residents'
emergency contacts, or at your own work-order system.
"""

from __future__ import annotations

from typing import Any

import orjson

from dispatch.channels.base import DeliveryError
from dispatch.channels.httppost import post_json
from lifesign.grid import Worker


def recipient_fields(recipient: Worker) -> dict[str, Any]:
    return {"id": recipient.worker_id, "name": recipient.name, "role": recipient.role.value,
            "phone": recipient.phone}


class WebhookChannel:
    reaches_contacts = True

    def __init__(self, url: str, *, name: str = "webhook", timeout_s: float = 5.0,
                 headers: dict[str, str] | None = None) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"webhook url must start with http:// or https://, got {url!r}")
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be > 0, got {timeout_s!r}")
        self.name = name
        self.url = url
        self.timeout_s = timeout_s
        self.headers = dict(headers or {})

    def body(self, recipient: Worker, ticket_payload: dict[str, Any]) -> dict[str, Any]:
        return {**ticket_payload, "recipient": recipient_fields(recipient)}

    def deliver(self, recipient: Worker, ticket_payload: dict[str, Any]) -> None:
        try:
            data = orjson.dumps(self.body(recipient, ticket_payload))
        except (TypeError, orjson.JSONEncodeError) as exc:
            raise DeliveryError(self.name, recipient.worker_id, f"the ticket is not JSON-able ({exc})",
                                False) from exc
        headers = dict(self.headers)
        if "idempotency_key" in ticket_payload:
            headers["Idempotency-Key"] = str(ticket_payload["idempotency_key"])
        post_json(self.name, recipient.worker_id, self.url, data, self.timeout_s, headers)
