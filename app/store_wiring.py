"""Which order and mute stores the service runs on (site.yaml ``orders:``): SQLite files
in data_dir by default, or one PostgreSQL database shared by several instances. The CLI's
order, absence, outage and ledger commands open the same ones (``open_*_for``).

psycopg is imported only when PostgreSQL is chosen: a single-machine site needs none of it
(``pip install 'lifesign[postgres]'`` adds it).
"""

from __future__ import annotations

from pathlib import Path

from app.dispatch_wiring import MUTES_FILE, open_mute_store
from app.messages import Complaint
from app.site import OrdersSettings, SiteConfig
from dispatch.mutes.base import MuteStore
from dispatch.orderstores.base import DispatchStore
from dispatch.orderstores.sqlite import SqliteWorkOrderStore

ORDERS_FILE = "orders.sqlite"


def open_order_store(settings: OrdersSettings, data_dir: Path) -> DispatchStore:
    """Orders, ledger and outbox; on PostgreSQL the schema is created and migrated here."""
    if settings.store == "postgres":
        from dispatch.orderstores.postgres import PostgresWorkOrderStore

        return PostgresWorkOrderStore(settings.dsn, pool_size=settings.pool_size)
    return SqliteWorkOrderStore(data_dir / ORDERS_FILE)


def open_mutes(settings: OrdersSettings, data_dir: Path) -> MuteStore:
    """Absences, outages, held alerts and storms, beside the orders."""
    if settings.store == "postgres":
        from dispatch.mutes.postgres import PostgresMuteStore

        return PostgresMuteStore(settings.dsn, pool_size=max(2, settings.pool_size // 2))
    return open_mute_store(data_dir)


def open_dispatch_stores(settings: OrdersSettings, data_dir: Path) -> tuple[DispatchStore, MuteStore]:
    """(orders, mutes), as the service runs on them."""
    orders = open_order_store(settings, data_dir)
    try:
        return orders, open_mutes(settings, data_dir)
    except BaseException:
        orders.close()
        raise


# -- the CLI beside the service: the stores site.yaml names, or the SQLite files of a folder ---
def open_orders_for(site: SiteConfig | None, data_dir: Path) -> DispatchStore:
    """The order store of ``site`` (PostgreSQL or SQLite), or the SQLite file in ``data_dir``
    when only a folder was given; a missing SQLite file is an error, not a new empty store."""
    if site is not None and site.orders.store == "postgres":
        return open_order_store(site.orders, data_dir)
    if not (data_dir / ORDERS_FILE).exists():
        raise Complaint("orders.no_store", folder=data_dir, path=data_dir / ORDERS_FILE)
    return SqliteWorkOrderStore(data_dir / ORDERS_FILE)


def open_mutes_for(site: SiteConfig | None, data_dir: Path, *, create: bool) -> MuteStore | None:
    """The mute store of ``site``, or ``data_dir``'s SQLite file; None when that file does not
    exist and ``create`` is false (nothing was ever muted there)."""
    if site is not None and site.orders.store == "postgres":
        return open_mutes(site.orders, data_dir)
    if not create and not (data_dir / MUTES_FILE).exists():
        return None
    data_dir.mkdir(parents=True, exist_ok=True)
    return open_mute_store(data_dir)
