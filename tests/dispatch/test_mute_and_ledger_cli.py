"""`lifesign absence|outage|ledger` against real store files, as staff would use them."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from app.cli import main as cli
from dispatch.absences import OutageScope
from dispatch.mutes.store import SqliteMuteStore
from dispatch.orderstores import SqliteWorkOrderStore
from lifesign.alerts import EpisodeKey
from lifesign.workorders import OrderStatus, Outcome

T0 = 1_763_700_000.0


def test_absence_add_list_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["absence", "add", "H0001", "--reason", "in hospital", "--for", "3d", "--data-dir", str(tmp_path)]) == 0
    assert cli(["absence", "add", "H0002", "--reason", "travel", "--start", "2030-01-01",
                "--end", "2030-01-10 12:00", "--data-dir", str(tmp_path)]) == 0
    capsys.readouterr()
    assert cli(["absence", "list", "--data-dir", str(tmp_path)]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split()[1] for line in listed] == ["H0001", "H0002"]
    assert " now " in listed[0] and "coming" in listed[1] and "2030-01-10 12:00" in listed[1]
    assert cli(["absence", "end", "1", "--data-dir", str(tmp_path)]) == 0
    capsys.readouterr()
    assert cli(["absence", "list", "--data-dir", str(tmp_path)]) == 0
    assert [line.split()[1] for line in capsys.readouterr().out.splitlines()] == ["H0002"]
    store = SqliteMuteStore(tmp_path / "mutes.sqlite")
    try:  # the service reads what the CLI wrote
        (h1,) = store.absences("H0001")
        assert h1.ended_at is not None and h1.reason == "in hospital"
    finally:
        store.close()


def test_bad_absence_input_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["absence", "add", "H1", "--reason", "x", "--for", "3 days", "--data-dir", str(tmp_path)]) == 2
    assert "a duration must be a number and m, h or d (e.g. 90m, 12h, 3d), got '3 days'" in capsys.readouterr().err
    assert cli(["absence", "end", "9", "--data-dir", str(tmp_path)]) == 2
    assert "No absence by the id of 9 was found" in capsys.readouterr().err


def test_outage_add_list_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["outage", "add", "--scope", "building", "--area", "B003", "--utility", "water", "--utility",
                "gas", "--reason", "pipe works", "--start", "+1h", "--for", "4h", "--data-dir", str(tmp_path)]) == 0
    capsys.readouterr()
    assert cli(["outage", "list", "--data-dir", str(tmp_path)]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert line.split()[:5] == ["#1", "building", "B003", "gas+water", line.split()[4]] and "coming" in line
    store = SqliteMuteStore(tmp_path / "mutes.sqlite")
    try:
        (outage,) = store.outages()
        assert (outage.scope, outage.utilities, outage.end - outage.start) == (OutageScope.BUILDING,
                                                                               ("gas", "water"), 4 * 3600.0)
    finally:
        store.close()
    assert cli(["outage", "end", "1", "--data-dir", str(tmp_path)]) == 0


def test_ledger_export_writes_orders_and_mute_decisions_within_the_window(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    orders = SqliteWorkOrderStore(tmp_path / "orders.sqlite")
    order, _ = orders.open_order(EpisodeKey("H0001", "no_usage", T0 - 50_000), "gw-zhang", "red", T0, {})
    orders.transition(order.order_id, OrderStatus.ACKNOWLEDGED, T0 + 60, "gw-zhang", "on my way")
    orders.transition(order.order_id, OrderStatus.RESOLVED, T0 + 7200, "gw-zhang", "fine", Outcome.RESIDENT_FINE)
    orders.close()
    mutes = SqliteMuteStore(tmp_path / "mutes.sqlite")
    mutes.open_storm("building", "B003", "no_usage", ("water",), T0 - 40_000, T0 + 30, "4 of 8 homes")
    mutes.close()
    out = tmp_path / "ledger.csv"
    assert cli(["ledger", "export", "--csv", str(out), "--data-dir", str(tmp_path)]) == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [(r["source"], r["action"], r["actor"]) for r in rows] == [
        ("order", "opened", "lifesign"), ("mute", "storm opened", "lifesign"),
        ("order", "acknowledged", "gw-zhang"), ("order", "resolved", "gw-zhang")]
    assert rows[2]["note"] == "on my way" and rows[0]["household_id"] == "H0001"
    assert rows[1]["household_id"] == "building:B003"
    # --since/--until keep lines with since <= at < until (local times, UTC+8)
    assert cli(["ledger", "export", "--csv", str(out), "--since", "2025-11-21 12:41", "--until",
                "2025-11-21 14:40", "--data-dir", str(tmp_path)]) == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["action"] for r in rows] == ["acknowledged"]


def test_orders_held_lists_muted_alerts_and_standing_storms(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from dispatch.mutes.records import AlertFate, TrackedAlert

    assert cli(["orders", "held", "--data-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out == "no alert is held or muted\n"
    mutes = SqliteMuteStore(tmp_path / "mutes.sqlite")
    mutes.track(TrackedAlert(EpisodeKey("H0001", "no_usage", T0 - 9), "critical", ("electricity", "water"),
                             "B001", "G01", "C1", T0, T0, AlertFate.MUTED, "absence: #1 (travel)"), T0)
    mutes.open_storm("building", "B003", "no_usage", ("water",), T0 - 40_000, T0 + 30, "4 of 8 homes")
    mutes.close()
    assert cli(["orders", "held", "--data-dir", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("storm #1 building B003 no_usage water since 2025-11-21 12:40: order building:B003/")
    assert lines[1].split()[:4] == ["muted", "H0001", "no_usage", "electricity+water"]
    assert lines[1].endswith("absence: #1 (travel)")


def test_absence_add_with_the_site_config_refuses_an_unknown_household(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    configs = Path(__file__).resolve().parents[2] / "configs"
    for name in ("site.yaml", "roster.yaml", "thresholds.yaml"):
        shutil.copy(configs / name, tmp_path / name)
    shutil.copytree(configs / "registry", tmp_path / "registry")
    site = tmp_path / "site.yaml"
    site.write_text(site.read_text().replace("data_dir: ../var", "data_dir: var"))
    assert cli(["absence", "add", "H99999", "--reason", "x", "--for", "1d", "-c", str(site)]) == 2
    assert "No household by the id of 'H99999' is registered" in capsys.readouterr().err
    assert cli(["absence", "add", "H00001", "--reason", "x", "--for", "1d", "-c", str(site)]) == 0
    assert (tmp_path / "var" / "mutes.sqlite").exists()
