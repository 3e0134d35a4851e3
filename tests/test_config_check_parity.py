"""`lifesign config check site.yaml` finds what `lifesign run` finds at start, says what
kind of file it took a file for, and traces an empty or missing file to whoever names it."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from app.cli import main
from app.service import ServiceParts
from app.site import SiteConfig

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def _site(folder: Path) -> Path:
    shutil.copytree(CONFIGS / "registry", folder / "registry")
    for name in ("roster.yaml", "thresholds.yaml", "site.yaml"):
        shutil.copy(CONFIGS / name, folder / name)
    return folder / "site.yaml"


def test_a_household_in_thresholds_but_not_in_the_registry_fails_check_and_service_alike(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site = _site(tmp_path)
    thresholds = tmp_path / "thresholds.yaml"
    thresholds.write_text(thresholds.read_text().replace("H00003: {no_usage: {hours: 8}}",
                                                         "H99999: {no_usage: {hours: 8}}"))
    assert main(["config", "check", str(site)]) == 2
    err = capsys.readouterr().err
    assert "households.H99999 is not a registered household" in err
    with pytest.raises(LookupError) as service_err:
        ServiceParts.from_site(SiteConfig.load(site))
    assert str(service_err.value.args[0]) in err


def test_a_building_no_grid_worker_covers_is_warned_by_check_and_service_alike(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    site = _site(tmp_path)
    roster = tmp_path / "roster.yaml"
    roster.write_text(roster.read_text().replace("buildings: [B001, B002]", "buildings: [B002]"))
    assert main(["config", "check", str(site)]) == 0
    out = capsys.readouterr().out
    warning = ("building 'B001' (12 households) has no grid worker in the roster: its orders go to the grid "
               "leader or the duty desk first")
    assert f"warning: {warning}" in out
    assert "1 warning(s)" in out
    with caplog.at_level(logging.WARNING, "lifesign.service"):
        ServiceParts.from_site(SiteConfig.load(site))
    assert any(warning in r.getMessage() for r in caplog.records)


def test_check_says_which_kind_of_file_it_took_a_file_for(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    odd = tmp_path / "thresholds-draft.yaml"
    odd.write_text("default:\n  no_usage: {hours: 12}\n")  # a typo: `default`, so not taken for thresholds
    assert main(["config", "check", str(odd)]) == 2
    assert (f"{odd}: checking as a site file (it has neither workers: (roster) nor defaults:/tiers:/activity: "
            "(thresholds))") in capsys.readouterr().out
    assert main(["config", "check", str(CONFIGS / "roster.yaml")]) == 0
    assert "checking as a roster file (it has workers:)" in capsys.readouterr().out


def test_an_empty_file_and_a_missing_include_name_the_file_that_names_them(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site = _site(tmp_path)
    thresholds = tmp_path / "thresholds.yaml"
    thresholds.write_text(thresholds.read_text().replace("# include: [learned.yaml]", "include: [learned.yaml]"))
    assert main(["config", "check", str(site)]) == 2
    assert capsys.readouterr().err.strip() == f"error: {tmp_path / 'learned.yaml'}: does not exist (included by {thresholds})"
    (tmp_path / "learned.yaml").write_text("# reviewed, nothing yet\n")
    assert main(["config", "check", str(site)]) == 2
    assert capsys.readouterr().err.strip() == f"error: {tmp_path / 'learned.yaml'}: is empty (included by {thresholds})"
    (tmp_path / "roster.yaml").write_text("")
    thresholds.write_text(thresholds.read_text().replace("include: [learned.yaml]", ""))
    assert main(["config", "check", str(site)]) == 2
    assert capsys.readouterr().err.strip() == (f"error: {tmp_path / 'roster.yaml'}: is empty "
                                               f"(named by {site}'s roster:)")
    empty = tmp_path / "empty.yaml"
    empty.write_text("\n")
    assert main(["config", "check", str(empty)]) == 2
    assert capsys.readouterr().err.strip() == f"error: {empty}: is empty"


def test_homes_held_by_the_power_meter_only_floor_are_told_by_check_and_service_alike(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    """Take the water meters of H00001 (red tier) and H00002, H00003 (green): the shipped file
    holds the red one 24 h, the green ones 34 h, and the operator is told so."""
    site = _site(tmp_path)
    meters = tmp_path / "registry" / "meters.csv"
    lines = meters.read_text().splitlines(keepends=True)
    meters.write_text("".join(x for x in lines if not x.startswith(("W00001,", "W00002,", "W00003,"))))
    assert main(["config", "check", str(site)]) == 0
    out = capsys.readouterr().out
    told = [("1 household(s) with no meter but electricity: no welfare alarm before 24 h of silence "
            "(no_usage.electricity_only; `~` turns it off)"),
            ("2 household(s) with no meter but electricity: no welfare alarm before 34 h of silence "
            "(no_usage.electricity_only; `~` turns it off)")]
    assert all(f"warning: {line}" in out for line in told)
    with caplog.at_level(logging.WARNING, "lifesign.service"):
        ServiceParts.from_site(SiteConfig.load(site))
    assert all(any(line in r.getMessage() for r in caplog.records) for line in told)
    # the shipped registry has a water meter in every home: nothing to tell
    site_again = _site(tmp_path / "plain")
    assert main(["config", "check", str(site_again)]) == 0
    assert "no meter but electricity" not in capsys.readouterr().out
