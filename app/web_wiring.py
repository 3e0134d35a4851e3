"""The staff desk as the service runs it: the link key, the staff accounts, the desk over
the service's own stores, uvicorn on ``web.bind:web.port``, and the signed link on every
ticket the dispatcher renders."""

from __future__ import annotations

from collections.abc import Callable
from datetime import tzinfo
from pathlib import Path

from app.web.desk import Desk
from app.web.links import OrderLinks, load_or_create_key
from app.web.server import WebServer, build_app
from app.web.settings import WebSettings
from app.web.staff import STAFF_FILE, StaffStore
from dispatch.dispatcher import Dispatcher
from dispatch.mutes.base import MuteStore
from dispatch.orderstores.base import DispatchStore
from lifesign.alerts import Alert
from lifesign.clock import Clock, WallClock
from lifesign.stores import HistoryStore

LINK_KEY_FILE = "link.key"


def open_staff_store(data_dir: Path) -> StaffStore:
    return StaffStore(data_dir / STAFF_FILE)


class WebDesk:
    def __init__(self, settings: WebSettings, data_dir: Path, *, orders: DispatchStore,
                 mutes: MuteStore, dispatcher: Dispatcher, history: HistoryStore, clock: Clock, tz: tzinfo,
                 open_episodes: Callable[[float], list[Alert]], session_clock: Clock | None = None) -> None:
        self.settings = settings
        key = load_or_create_key(settings.link_key_file or data_dir / LINK_KEY_FILE)
        self.links = OrderLinks(key, clock, settings.link_ttl_hours * 3600.0, settings.public_url or "")
        self.staff = open_staff_store(data_dir)
        self.desk = Desk(orders=orders, mutes=mutes, registry=dispatcher.registry, assigner=dispatcher.assigner,
                         history=history, clock=clock, links=self.links, staff=self.staff, tz=tz,
                         open_episodes=open_episodes, session_clock=session_clock or WallClock(),
                         secure_cookies=settings.secure_cookies)
        self.server = WebServer(build_app(self.desk), settings.bind, settings.port)
        # every ticket rendered from now on carries its recipient's link
        dispatcher.deliverer.links = self.links.for_ticket

    def start(self) -> None:
        self.server.start()
        if not self.settings.public_url:
            self.links.base_url = self.server.url

    @property
    def url(self) -> str:
        return self.server.url

    def stop(self) -> None:
        self.server.stop()
        self.staff.close()


__all__ = ["LINK_KEY_FILE", "WebDesk", "open_staff_store"]
