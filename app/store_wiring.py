"""Which order and mute stores the service runs on (site.yaml ``orders:``): SQLite files
in data_dir by default, or one PostgreSQL database shared by several instances.

psycopg is imported only when PostgreSQL is chosen: a single-machine site needs none of it
(``pip install 'lifesign[postgres]'`` adds it).
"""

from __future__ import annotations

from pathlib import Path

from app.dispatch_wiring import open_mute_store
from app.site import OrdersSettings
from dispatch.mutes.base import MuteStore
from dispatch.orderstores.base import DispatchStore
from dispatch.orderstores.sqlite import SqliteWorkOrderStore

ORDERS_FILE = "orders.sqlite"


def open_dispatch_stores(settings: OrdersSettings, data_dir: Path) -> tuple[DispatchStore, MuteStore]:
    """(orders, mutes); on PostgreSQL the service creates and migrates the schema itself."""
    if settings.store == "postgres":
        from dispatch.mutes.postgres import PostgresMuteStore
        from dispatch.orderstores.postgres import PostgresWorkOrderStore

        orders = PostgresWorkOrderStore(settings.dsn, pool_size=settings.pool_size)
        try:
            return orders, PostgresMuteStore(settings.dsn, pool_size=max(2, settings.pool_size // 2))
        except BaseException:
            orders.close()
            raise
    return SqliteWorkOrderStore(data_dir / ORDERS_FILE), open_mute_store(data_dir)
