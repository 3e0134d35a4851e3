"""site.yaml ``orders:`` picks the stores the service runs on; SQLite stays the default."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.site import OrdersSettings, SiteConfig
from app.store_wiring import open_dispatch_stores
from dispatch.mutes.postgres import PostgresMuteStore
from dispatch.mutes.store import SqliteMuteStore
from dispatch.orderstores import SqliteWorkOrderStore
from dispatch.orderstores.postgres import PostgresWorkOrderStore
from lifesign.alerts import EpisodeKey
from lifesign.config.errors import ConfigError

BASE = "registry: {households: h.csv, meters: m.csv}\nroster: r.yaml\nthresholds: t.yaml\ndata_dir: var\n"


def test_sqlite_is_the_default_and_needs_no_orders_section(tmp_path: Path) -> None:
    assert SiteConfig.parse(BASE, tmp_path).orders == OrdersSettings()
    orders, mutes = open_dispatch_stores(OrdersSettings(), tmp_path)
    assert isinstance(orders, SqliteWorkOrderStore) and isinstance(mutes, SqliteMuteStore)
    orders.close()
    mutes.close()


def test_postgres_needs_a_dsn(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="orders.dsn .* is required"):
        SiteConfig.parse(BASE + "orders: {store: postgres}\n", tmp_path)
    with pytest.raises(ConfigError, match="store"):
        SiteConfig.parse(BASE + "orders: {store: mysql}\n", tmp_path)


@pytest.mark.postgres
def test_postgres_stores_share_one_database_between_instances(tmp_path: Path, postgres_dsn: str) -> None:
    site = SiteConfig.parse(BASE + f"orders: {{store: postgres, dsn: '{postgres_dsn}', pool_size: 3}}\n",
                            tmp_path)
    assert site.orders == OrdersSettings("postgres", postgres_dsn, 3)
    first, second = open_dispatch_stores(site.orders, tmp_path), open_dispatch_stores(site.orders, tmp_path)
    try:
        assert isinstance(first[0], PostgresWorkOrderStore) and isinstance(first[1], PostgresMuteStore)
        order, created = first[0].open_order(EpisodeKey("H0001", "no_usage", 0.0), "gw", "red", 1.0, {})
        assert created and second[0].get(order.order_id) == order
        assert not (tmp_path / "var").exists()  # nothing written beside the service
    finally:
        for store in (*first, *second):
            store.close()
