"""site.yaml's ``web:`` section, declared beside the desk that uses it::

    web:
      bind: 127.0.0.1              # the address the desk listens on (default: this host only)
      port: 8080                   # 0: a free port chosen at start (printed)
      public_url: https://desk.example.org   # the base of links in tickets (default http://bind:port)
      link_key_file: link.key      # HMAC key of the workers' links (created 0600 if missing)
      link_ttl_hours: 72           # how long a ticket's link stays valid
      secure_cookies: true         # staff session cookies only over HTTPS (and http://127.0.0.1)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lifesign.config.source import ConfigNode

KEYS = ("bind", "port", "public_url", "link_key_file", "link_ttl_hours", "secure_cookies")


@dataclass(frozen=True)
class WebSettings:
    bind: str = "127.0.0.1"
    port: int = 8080
    #: None: http://bind:port, known once the port is bound
    public_url: str | None = None
    #: None: link.key in the data directory
    link_key_file: Path | None = None
    link_ttl_hours: float = 72.0
    secure_cookies: bool = True


def parse_web(node: ConfigNode, base: Path) -> WebSettings:
    w = node.mapping(list(KEYS))
    d = WebSettings()
    public_url = w["public_url"].string().rstrip("/") if "public_url" in w else None
    if public_url is not None and not public_url.startswith(("http://", "https://")):
        raise w["public_url"].error(f"must start with http:// or https://, got {public_url!r}")
    return WebSettings(
        bind=w["bind"].string() if "bind" in w else d.bind,
        port=w["port"].integer(ge=0, le=65535) if "port" in w else d.port,
        public_url=public_url,
        link_key_file=base / w["link_key_file"].string() if "link_key_file" in w else None,
        link_ttl_hours=w["link_ttl_hours"].number(gt=0) if "link_ttl_hours" in w else d.link_ttl_hours,
        secure_cookies=w["secure_cookies"].boolean() if "secure_cookies" in w else d.secure_cookies,
    )
