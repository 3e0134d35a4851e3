"""Bad files fail with file, location, field, value and expectation (exact strings)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli import main
from app.site import SiteConfig
from detectors.thresholds import Thresholds
from lifesign.config.errors import ConfigError
from lifesign.registry import Registry
from lifesign.roster import Roster

BAD = Path(__file__).parent / "testdata" / "bad"


@pytest.mark.parametrize(
    ("loader", "name", "message"),
    [
        (Thresholds.load, "thresholds_negative_hours.yaml", "thresholds_negative_hours.yaml:6: tiers.red.no_usage.hours must be > 0, got -3"),
        (Thresholds.load, "thresholds_typo.yaml", "thresholds_typo.yaml:4: tiers.yellow.no_usage.hour is not a known key (did you mean 'hours'?)"),
        (Thresholds.load, "thresholds_unknown_tier.yaml", "thresholds_unknown_tier.yaml:4: tiers.orange is not a known key (expected one of green, red, yellow)"),
        (Roster.load, "roster_bad_role.yaml", "roster_bad_role.yaml:9: workers[1].role must be one of grid_worker, grid_leader, duty_desk, maintenance, got 'grid_wroker' (did you mean 'grid_worker'?)"),
        (Roster.load, "roster_duplicate_id.yaml", "roster_duplicate_id.yaml:3: workers[1].id must be unique, got 'gw-1' a second time"),
        (SiteConfig.load, "site_bad_port.yaml", "site_bad_port.yaml:3: broker.port must be a whole number, got 'eighteen eighty-three'"),
    ],
)
def test_yaml_errors_name_file_line_field_and_expectation(loader, name: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        loader(BAD / name)
    assert str(info.value) == str(BAD / message)


@pytest.mark.parametrize(
    ("households", "meters", "message"),
    [
        ("households_bad_age.csv", "meters_ok.csv", "households_bad_age.csv:3: age must be a whole number of years from 0 to 130, got 'eighty'"),
        ("households_ok.csv", "meters_bad_utility.csv", "meters_bad_utility.csv:3: utility must be one of water, electricity, gas, got 'electrity'"),
        ("households_ok.csv", "meters_unknown_household.csv", None),
    ],
)
def test_registry_errors_name_file_row_field_and_expectation(households: str, meters: str, message: str | None) -> None:
    with pytest.raises(ConfigError) as info:
        Registry.load(BAD / households, BAD / meters)
    if message is None:
        message = f"meters_unknown_household.csv:3: household_id must be a household_id listed in {BAD / 'households_ok.csv'}, got 'H9'"
    assert str(info.value) == str(BAD / message)


def test_config_check_cli_reports_the_error_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "check", str(BAD / "thresholds_typo.yaml")]) == 2
    assert "tiers.yellow.no_usage.hour is not a known key (did you mean 'hours'?)" in capsys.readouterr().err


def test_config_check_cli_accepts_the_shipped_configs(capsys: pytest.CaptureFixture[str]) -> None:
    configs = Path(__file__).resolve().parents[1] / "configs"
    for name in ("thresholds.yaml", "roster.yaml", "site.yaml"):
        assert main(["config", "check", str(configs / name)]) == 0, capsys.readouterr().err


def test_meters_csv_reading_column_is_optional_and_checked(tmp_path: Path) -> None:
    from lifesign.registry import Registry

    (tmp_path / "h.csv").write_text(
        "household_id,community,grid,building,unit,room,resident_name,age,phone,emergency_contact,tier\n"
        "H1,C,G,B,U,1,Wang,80,1,2,red\n")
    (tmp_path / "m.csv").write_text(
        "meter_id,household_id,utility,gateway_id,reading\nW1,H1,water,GW,interval\nE1,H1,electricity,GW,\n")
    registry = Registry.load(tmp_path / "h.csv", tmp_path / "m.csv")
    assert registry.meter_interval.tolist() == [True, False]
    assert registry.meter(0).reading == "interval"
    (tmp_path / "m.csv").write_text("meter_id,household_id,utility,gateway_id,reading\nW1,H1,water,GW,intervall\n")
    with pytest.raises(ConfigError) as err:
        Registry.load(tmp_path / "h.csv", tmp_path / "m.csv")
    assert str(err.value) == (f"{tmp_path / 'm.csv'}:2: reading must be register or interval (or empty: register), "
                              "got 'intervall'")
