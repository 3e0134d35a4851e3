"""Layered thresholds, local-time windows, time zones and strict validation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from homes import DAY, T0, H

from detectors.settings import resolve_settings
from detectors.thresholds import Thresholds
from detectors.timeweights import Profiles, profile_weights, utc_offsets
from lifesign.clock import parse_timezone
from lifesign.config.errors import ConfigError
from lifesign.grid import Address, Household, Meter, Resident, Tier, Utility
from lifesign.registry import Registry

TESTDATA = Path(__file__).parent / "testdata"

LAYERED = """
defaults:
  no_usage: {hours: 12, utilities: {water: {hours: 20}}}
  meter_offline: {hours: 6}
tiers:
  red: {no_usage: {hours: 10}}
communities:
  C2: {meter_offline: {hours: 2}, no_usage: {hours: 9}}
grids:
  G3: {no_usage: {hours: 8}}
households:
  H4: {no_usage: {hours: 5}, activity: {electricity: {min_change_w: 200}}}
"""


def four_homes() -> Registry:
    homes = [
        Household("H1", Address("C1", "G1", "B1", "1", "101"), Resident("R", 80, "p", "e"), Tier.GREEN),
        Household("H2", Address("C1", "G1", "B1", "1", "102"), Resident("R", 80, "p", "e"), Tier.RED),
        Household("H3", Address("C2", "G3", "B2", "1", "101"), Resident("R", 80, "p", "e"), Tier.RED),
        Household("H4", Address("C2", "G3", "B2", "1", "102"), Resident("R", 80, "p", "e"), Tier.RED),
    ]
    meters = [Meter(f"W{i}", f"H{i}", Utility.WATER, "GW") for i in range(1, 5)]
    return Registry.from_records(homes, meters)


def test_each_household_takes_the_most_specific_value_of_every_field() -> None:
    table, rows = resolve_settings(four_homes(), Thresholds.parse(LAYERED))
    hours = table.home_s[rows] / H
    offline = table.offline_s[rows] / H
    assert list(hours) == [12, 10, 8, 5]  # default, tier, grid over community over tier, household
    assert list(offline) == [6, 6, 2, 2]  # community wins where nothing closer sets it
    # the built-in 380 W (two 190 W cold appliances starting together), but where a home sets its own
    assert list(table.min_change_w[rows]) == [380, 380, 380, 200]
    # a single utility never alerts before the whole home would: water 20 h stays 20 h
    assert list(table.utility_s[rows, 0] / H) == [20, 20, 20, 20]
    assert np.isinf(table.utility_s[rows, 1]).all()  # electricity is not watched alone
    assert len(table) < 5  # households share rows


def test_overrides_naming_unknown_households_communities_or_grids_are_refused() -> None:
    for key, name in (("households", "H9"), ("communities", "C9"), ("grids", "G9")):
        text = f"defaults: {{no_usage: {{hours: 1}}}}\n{key}: {{{name}: {{no_usage: {{hours: 2}}}}}}"
        with pytest.raises(LookupError, match=f"{key}.{name} is not a registered"):
            resolve_settings(four_homes(), Thresholds.parse(text, "t.yaml"))


def test_night_hours_count_half_toward_a_silence() -> None:
    night = Profiles(np.array([profile_weights([(22 * 60, 6 * 60, 0.5)])]))
    start = np.array([T0 + 20 * H])  # 20:00 local
    deadline = night.deadline(np.array([0]), start, np.array([6 * H]), 8 * H)
    # 20:00-22:00 counts 2 h, 22:00-06:00 counts 4 h: six hours reached at 06:00
    assert deadline[0] == pytest.approx(T0 + 30 * H)
    assert night.effective_between(np.array([0]), start, deadline, 8 * H)[0] == pytest.approx(6 * H)


def test_deadlines_follow_the_time_zone_and_daylight_saving() -> None:
    # Europe/Berlin: 2025-03-30 02:00 CET becomes 03:00 CEST. A night window 00:00-06:00 local
    # at half weight counts the *real* hours that fall in it: that night has only five.
    berlin = parse_timezone("Europe/Berlin")
    night = Profiles(np.array([profile_weights([(0, 6 * 60, 0.5)])]))
    start = np.array([1743282000.0])  # 2025-03-29 22:00 CET = 21:00 UTC
    deadline = night.deadline(np.array([0]), start, np.array([6 * H]), berlin)
    # 22:00-24:00 = 2 h, 00:00-06:00 local = 5 real hours x 0.5 = 2.5 h, 06:00-07:30 = 1.5 h
    assert deadline[0] == pytest.approx(1743312600.0)  # 2025-03-30 07:30 CEST = 05:30 UTC
    assert utc_offsets(berlin, np.array([start[0], deadline[0]])).tolist() == [3600.0, 7200.0]
    assert utc_offsets(parse_timezone("UTC+8"), np.array([0.0]))[0] == 8 * H


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("thresholds_window_typo.yaml", "thresholds_window_typo.yaml:5: defaults.no_usage.windows[0].wieght is not a known key (did you mean 'weight'?)"),
        ("thresholds_window_off_grid.yaml", "thresholds_window_off_grid.yaml:5: defaults.no_usage.windows[0].from must be on a quarter hour (:00, :15, :30, :45), got '22:10'"),
        ("thresholds_bad_timezone.yaml", "thresholds_bad_timezone.yaml:1: timezone must be an IANA time zone (e.g. Asia/Shanghai) or UTC±H[:MM], got 'Asia/Shangai'"),
        ("thresholds_utility_typo.yaml", "thresholds_utility_typo.yaml:4: defaults.no_usage.utilities.watr is not a known key (did you mean 'water'?)"),
        ("thresholds_rule_typo.yaml", "thresholds_rule_typo.yaml:4: households.H1.meter_ofline is not a known key (did you mean 'meter_offline'?)"),
        ("thresholds_flow_zero.yaml", "thresholds_flow_zero.yaml:3: defaults.continuous_flow.hours must be > 0, got 0"),
    ],
)
def test_bad_files_name_file_line_path_and_expectation(name: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        Thresholds.load(TESTDATA / name)
    assert str(info.value) == str(TESTDATA / message)


def test_an_included_learned_file_lies_under_the_operators_own_overrides() -> None:
    thresholds = Thresholds.load(TESTDATA / "thresholds_with_include.yaml")
    assert thresholds.no_usage_hours(Tier.GREEN, "H1") == 5
    assert thresholds.no_usage_hours(Tier.GREEN, "H2") == 3
    assert thresholds.resolve(Tier.GREEN, "C1", "G1", "H2").min_change_w == 200


def test_the_shipped_files_parse() -> None:
    root = Path(__file__).resolve().parents[2]
    for path in (root / "configs" / "thresholds.yaml", root / "app" / "defaults" / "thresholds.yaml"):
        assert Thresholds.load(path).no_usage_hours(Tier.RED, "") == 10
    assert DAY == 24 * H


def three_homes(utility: Utility) -> Registry:
    """Homes A, B and C, one meter each."""
    homes = [Household(h, Address("C1", "G1", "B1", "1", "1"), Resident("R", 80, "p", "e"), Tier.GREEN)
             for h in ("A", "B", "C")]
    return Registry.from_records(homes, [Meter(f"m{h.household_id}", h.household_id, utility, "GW") for h in homes])


def test_adapt_is_on_by_default_off_per_layer_and_set_for_windows_too() -> None:
    reg = three_homes(Utility.WATER)
    th = Thresholds.parse("""
defaults: {no_usage: {hours: 12}}
households:
  B: {no_usage: {adapt: ~}}
  C: {no_usage: {windows: [{from: "22:00", to: "06:00", weight: 0.5}], adapt: {max_hours: 20}}}
""")
    table, rows = resolve_settings(reg, th)
    # windows raise to the routine in real hours where their layer says so
    # (tests/detectors/test_usual_silences.py); windows alone keep it off, as before
    assert list(table.adapt_s[rows] / H) == [24.0, 0.0, 20.0]
    alone = Thresholds.parse("""
defaults: {no_usage: {hours: 12, adapt: {max_hours: 30}}}
communities:
  C1: {no_usage: {windows: [{from: "22:00", to: "06:00", weight: 0.5}]}}
households:
  B: {no_usage: {hours: 10}}
  C: {no_usage: {adapt: {max_hours: 20}}}
""")
    table, rows = resolve_settings(reg, alone)
    assert list(table.adapt_s[rows] / H) == [0.0, 0.0, 20.0]  # a more specific layer may turn it on
    with pytest.raises(ConfigError, match="max_hour"):
        Thresholds.parse("defaults: {no_usage: {adapt: {max_hour: 20}}}")


def test_left_on_is_on_by_default_set_per_layer_and_off_with_null() -> None:
    reg = three_homes(Utility.ELECTRICITY)
    th = Thresholds.parse("""
defaults: {no_usage: {hours: 12}}
households:
  B: {no_usage: {left_on: {hours: 3}}}
  C: {no_usage: {left_on: ~}}
""")
    table, rows = resolve_settings(reg, th)
    assert list(table.left_on_s[rows] / H) == [6.0, 3.0, float("inf")]
    assert list(table.left_on_w[rows]) == [40.0, 40.0, float("inf")]  # B keeps the level it didn't set
    with pytest.raises(ConfigError, match="above_quiet"):
        Thresholds.parse("defaults: {no_usage: {left_on: {above_quiet: 20}}}")
    with pytest.raises(ConfigError, match="left_on.hours"):
        Thresholds.parse("defaults: {no_usage: {left_on: {hours: -1}}}")
