"""Signed links: the grid worker's way into one order's page, from any ticket.

A link names the order, the worker and an expiry, and carries HMAC-SHA256 over the
three with the site's key (``web.link_key_file``). The page and its actions accept
nothing else from a worker: no password on a phone inside WeCom or DingTalk, and a
link forwarded to the wrong group opens only that order, only until it expires.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from dispatch.assign import CONTACT_PREFIX
from lifesign.clock import Clock
from lifesign.workorders import WorkOrder

KEY_BYTES = 32


class LinkError(PermissionError):
    """A link that does not open the order: expired, tampered, or not for this worker."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"this link does not open the order: {reason}")


def load_or_create_key(path: Path) -> bytes:
    """The link key; a new random one, readable by the service's user only, if missing."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_bytes().strip()
        if len(key) < 32:
            raise ValueError(f"{path}: a link key must be at least 32 bytes, got {len(key)}") from None
        return key
    key = base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES))
    with os.fdopen(fd, "wb") as out:
        out.write(key + b"\n")
    return key


@dataclass(frozen=True)
class LinkClaim:
    order_id: int
    worker_id: str
    expires: int


class OrderLinks:
    """Issue and check the workers' links. ``base_url`` may be set after the server bound
    its port (``web.port: 0``), before any ticket is rendered."""

    def __init__(self, key: bytes, clock: Clock, ttl_s: float, base_url: str = "") -> None:
        self._key = key
        self.clock = clock
        self.ttl_s = ttl_s
        self.base_url = base_url.rstrip("/")

    def sign(self, order_id: int, worker_id: str, expires: int) -> str:
        message = f"{order_id}\n{worker_id}\n{expires}".encode()
        digest = hmac.new(self._key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def query(self, order_id: int, worker_id: str, expires: int | None = None) -> str:
        expires = int(self.clock.now() + self.ttl_s) if expires is None else expires
        return urlencode({"w": worker_id, "exp": expires, "sig": self.sign(order_id, worker_id, expires)})

    def url(self, order_id: int, worker_id: str, expires: int | None = None) -> str:
        return f"{self.base_url}/o/{order_id}?{self.query(order_id, worker_id, expires)}"

    def for_ticket(self, order: WorkOrder) -> str | None:
        """The link for the order's current holder; none for a resident's relative."""
        if order.assignee.startswith(CONTACT_PREFIX) or order.assignee.startswith("("):
            return None
        return self.url(order.order_id, order.assignee)

    def check(self, order_id: int, worker_id: str, expires: str | int, signature: str) -> LinkClaim:
        """The claim, or LinkError. The signature is compared first, in constant time, so a
        tampered link learns nothing from the expiry check."""
        try:
            exp = int(expires)
        except (TypeError, ValueError):
            raise LinkError("the expiry is not a number") from None
        if not hmac.compare_digest(self.sign(order_id, worker_id, exp), signature or ""):
            raise LinkError("the signature does not match")
        if self.clock.now() >= exp:
            raise LinkError("the link has expired")
        return LinkClaim(order_id, worker_id, exp)

    def form_token(self, claim: LinkClaim) -> str:
        """The CSRF token of the order page's forms: bound to the link, never valid alone."""
        return self.sign(claim.order_id, f"csrf:{claim.worker_id}", claim.expires)


__all__ = ["LinkClaim", "LinkError", "OrderLinks", "load_or_create_key"]
