"""The order, absence, outage and ledger commands open the stores site.yaml names: with
``orders: {store: postgres}`` they act on the PostgreSQL database the instances share, and
write no SQLite file beside it."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pytest

from app.cli import main as cli
from dispatch.mutes.postgres import PostgresMuteStore
from dispatch.orderstores.postgres import PostgresWorkOrderStore
from lifesign.alerts import EpisodeKey
from lifesign.workorders import OrderStatus

pytestmark = pytest.mark.postgres

T0 = 1_763_700_000.0


CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def write_site(folder: Path, dsn: str) -> Path:
    # `absence add -c` checks the household against the registry
    shutil.copytree(CONFIGS / "registry", folder / "registry")
    site = folder / "site.yaml"
    site.write_text("registry: {households: registry/households.csv, meters: registry/meters.csv}\n"
                    "roster: roster.yaml\nthresholds: thresholds.yaml\n"
                    f"data_dir: var\norders: {{store: postgres, dsn: '{dsn}', pool_size: 2}}\n")
    return site


def test_staff_act_on_the_shared_postgresql_orders(tmp_path: Path, postgres_dsn: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    site = str(write_site(tmp_path, postgres_dsn))
    service = PostgresWorkOrderStore(postgres_dsn)  # what an instance opened
    try:
        order, _ = service.open_order(EpisodeKey("H00001", "no_usage", T0 - 40_000), "gw-zhang", "red", T0,
                                      {"confirmed_silence_s": 40_000.0})
        assert cli(["orders", "list", "-c", site]) == 0
        (line,) = capsys.readouterr().out.splitlines()
        assert line.startswith(f"#{order.order_id} ") and "H00001" in line and "assignee=gw-zhang" in line
        assert cli(["orders", "ack", str(order.order_id), "-c", site, "--note", "on my way"]) == 0
        assert cli(["orders", "show", str(order.order_id), "-c", site]) == 0
        shown = capsys.readouterr().out
        assert "acknowledged" in shown and "on my way" in shown
        assert service.get(order.order_id).status is OrderStatus.ACKNOWLEDGED  # the instances see it
    finally:
        service.close()

    assert cli(["absence", "add", "H00002", "--reason", "in hospital", "--for", "3d", "-c", site]) == 0
    assert cli(["outage", "add", "--scope", "building", "--area", "B001", "--utility", "water",
                "--reason", "pipe works", "--for", "4h", "-c", site]) == 0
    assert cli(["orders", "held", "-c", site]) == 0
    capsys.readouterr()
    assert cli(["absence", "list", "-c", site]) == 0
    assert [line.split()[1] for line in capsys.readouterr().out.splitlines()] == ["H00002"]
    mutes = PostgresMuteStore(postgres_dsn)
    try:
        (absence,) = mutes.absences("H00002")
        (outage,) = mutes.outages()
        assert (absence.reason, outage.area) == ("in hospital", "B001")
    finally:
        mutes.close()

    assert cli(["ledger", "export", "--csv", "-", "-c", site]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    kinds = {(row["household_id"], row["action"]) for row in rows}
    assert {("H00001", "opened"), ("H00001", "acknowledged")} <= kinds, kinds
    assert not (tmp_path / "var").exists()  # nothing written beside the database
