"""Bad files fail with file, location, field, value and expectation (exact strings)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli import main
from app.service import ServiceParts
from app.site import SiteConfig
from detectors.thresholds import Thresholds
from ingest.deadletters import DeadLetterLimits
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


def _site(tmp_path: Path, timezone: str, thresholds: str, roster: str) -> Path:
    configs = Path(__file__).resolve().parents[1] / "configs"
    (tmp_path / "thresholds.yaml").write_text(thresholds + (configs / "thresholds.yaml").read_text())
    (tmp_path / "roster.yaml").write_text(roster + (configs / "roster.yaml").read_text())
    site = tmp_path / "site.yaml"
    site.write_text(f"registry: {{households: {configs}/registry/households.csv, meters: {configs}/registry/meters.csv}}\n"
                    f"roster: roster.yaml\nthresholds: thresholds.yaml\ndata_dir: var\ntimezone: {timezone}\n")
    return site


def test_the_site_names_the_timezone_and_the_other_files_take_it(tmp_path: Path) -> None:
    site = SiteConfig.load(_site(tmp_path, "Europe/Brussels", "", ""))
    assert str(site.tz) == "Europe/Brussels"
    assert Thresholds.load(site.thresholds, site.timezone, site.source).timezone == "Europe/Brussels"
    assert str(Roster.load(site.roster, site.timezone, site.source).tz) == "Europe/Brussels"
    parts = ServiceParts.from_site(site)  # what the service wires: tickets, muters, roster, detector
    assert [str(z) for z in (parts.tz, parts.roster.tz, parts.thresholds.tz())] == ["Europe/Brussels"] * 3
    assert main(["config", "check", str(tmp_path / "site.yaml")]) == 0


def test_a_thresholds_timezone_other_than_the_sites_is_refused_naming_both_files(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _site(tmp_path, "Europe/Brussels", "timezone: Asia/Shanghai\n", "")
    assert main(["config", "check", str(path)]) == 2
    assert capsys.readouterr().err.strip().endswith(
        f"{tmp_path / 'thresholds.yaml'}:1: timezone is 'Asia/Shanghai', but {path} sets timezone "
        "'Europe/Brussels': local time has one source, so remove timezone from this file or make the two the same")
    # the same zone said twice is fine
    same = _site(tmp_path, "Europe/Brussels", "timezone: Europe/Brussels\n", "")
    assert main(["config", "check", str(same)]) == 0


def test_a_roster_offset_the_site_zone_does_not_keep_is_refused(tmp_path: Path) -> None:
    path = _site(tmp_path, "Europe/Brussels", "", "utc_offset_hours: 1\n")
    site = SiteConfig.load(path)
    with pytest.raises(ConfigError) as info:
        Roster.load(site.roster, site.timezone, site.source)
    assert str(info.value) == (
        f"{tmp_path / 'roster.yaml'}:1: utc_offset_hours is 1, but {path} sets timezone 'Europe/Brussels': shifts "
        "and leave follow the site's timezone, so remove utc_offset_hours from this file")
    # an old roster that repeats the default zone's offset still loads
    assert Roster.parse("utc_offset_hours: 8\nworkers: []\n", site_timezone="Asia/Shanghai").workers == {}


def test_a_site_timezone_must_be_a_zone(tmp_path: Path) -> None:
    path = _site(tmp_path, "Europe/Brusels", "", "")
    with pytest.raises(ConfigError) as info:
        SiteConfig.load(path)
    assert str(info.value) == (f"{path}:5: timezone must be an IANA time zone (e.g. Asia/Shanghai) or UTC±H[:MM], "
                               "got 'Europe/Brusels'")


def test_ingest_plausibility_limits_are_site_settings(tmp_path: Path) -> None:
    head = "registry: {households: h.csv, meters: m.csv}\nroster: r.yaml\nthresholds: t.yaml\ndata_dir: var\n"
    site = SiteConfig.parse(head + "ingest: {max_value: 1e7, max_rate: {water_m3_per_h: 3}}\n", tmp_path)
    assert (site.ingest.max_value, site.ingest.max_rate.water_m3_per_h, site.ingest.max_rate.electricity_kw) == (
        1e7, 3.0, 100.0)
    with pytest.raises(ConfigError) as info:
        SiteConfig.parse(head + "ingest:\n  max_rate: {water_m3_per_hour: 3}\n", tmp_path, "site.yaml")
    assert str(info.value) == ("site.yaml:6: ingest.max_rate.water_m3_per_hour is not a known key "
                               "(did you mean 'water_m3_per_h'?)")


def test_ingest_pending_caps_and_dead_letter_limits_are_site_settings(tmp_path: Path) -> None:
    head = "registry: {households: h.csv, meters: m.csv}\nroster: r.yaml\nthresholds: t.yaml\ndata_dir: var\n"
    default = SiteConfig.parse(head, tmp_path).ingest
    assert (default.max_pending_messages, default.max_pending_bytes) == (2000, 64 * 1024 * 1024)
    assert default.dead_letters == DeadLetterLimits(per_gateway_burst=20, per_gateway_per_s=1.0, total_burst=200,
                                                    total_per_s=50.0)
    site = SiteConfig.parse(head + "ingest:\n  max_pending_messages: 5000\n  max_pending_mb: 0.5\n"
                                   "  dead_letters: {per_gateway_burst: 3, total_per_s: 10}\n", tmp_path)
    assert (site.ingest.max_pending_messages, site.ingest.max_pending_bytes) == (5000, 512 * 1024)
    assert site.ingest.dead_letters == DeadLetterLimits(per_gateway_burst=3, per_gateway_per_s=1.0, total_burst=200,
                                                        total_per_s=10.0)
    for body, message in [
        ("  max_pending_messages: 500\n", "site.yaml:6: ingest.max_pending_messages must be >= 1000, got 500"),
        ("  max_pending_mb: 0\n", "site.yaml:6: ingest.max_pending_mb must be > 0, got 0"),
        ("  dead_letters: {per_gateway_brust: 5}\n",
         "site.yaml:6: ingest.dead_letters.per_gateway_brust is not a known key (did you mean 'per_gateway_burst'?)"),
        ("  dead_letters: {total_burst: 0}\n", "site.yaml:6: ingest.dead_letters.total_burst must be >= 1, got 0"),
        ("  max_pending_mesages: 5000\n",
         "site.yaml:6: ingest.max_pending_mesages is not a known key (did you mean 'max_pending_messages'?)"),
    ]:
        with pytest.raises(ConfigError) as info:
            SiteConfig.parse(head + "ingest:\n" + body, tmp_path, "site.yaml")
        assert str(info.value) == message
