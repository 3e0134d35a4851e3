from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dispatch.escalation import escalation_chain, responsible_for
from lifesign.grid import Role, Tier, Utility
from lifesign.registry import Registry
from lifesign.roster import Roster
from simulators.cohort import make_cohort

FILES = ("households.csv", "meters.csv", "roster.yaml", "homes.csv")


def test_the_same_seed_writes_the_same_files_byte_for_byte(tmp_path: Path) -> None:
    make_cohort(150, 7, with_gas_fraction=0.3).write(tmp_path / "a")
    make_cohort(150, 7, with_gas_fraction=0.3).write(tmp_path / "b")
    make_cohort(150, 8, with_gas_fraction=0.3).write(tmp_path / "c")
    for name in FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert (tmp_path / "a" / "households.csv").read_bytes() != (tmp_path / "c" / "households.csv").read_bytes()


def test_cohort_files_load_back_with_the_vocabulary_loaders(tmp_path: Path) -> None:
    cohort = make_cohort(100, 3, with_gas_fraction=0.5)
    cohort.write(tmp_path)
    registry = Registry.load(tmp_path / "households.csv", tmp_path / "meters.csv")
    roster = Roster.load(tmp_path / "roster.yaml")

    original = cohort.registry
    assert list(registry.household_ids) == list(original.household_ids)
    assert registry.tier.tolist() == original.tier.tolist()
    assert registry.age.tolist() == original.age.tolist()
    assert list(registry.meter_ids) == list(original.meter_ids)
    assert registry.meter_utility.tolist() == original.meter_utility.tolist()
    assert [registry.meter(i) for i in range(registry.n_meters)] == [original.meter(i) for i in range(original.n_meters)]
    assert registry.household(42) == original.household(42)
    assert roster.workers == cohort.roster.workers


def test_every_household_has_a_grid_worker_leader_and_duty_desk() -> None:
    cohort = make_cohort(300, 5, households_per_building=10, buildings_per_grid=3)
    registry, roster = cohort.registry, cohort.roster
    for i in range(registry.n_households):
        household = registry.household(i)
        chain = escalation_chain(roster, household)
        assert [w.role for w in chain] == [Role.GRID_WORKER, Role.GRID_LEADER, Role.DUTY_DESK], household
        assert responsible_for(roster, household).worker_id.startswith("gw-")
    roles = [w.role for w in roster.workers.values()]
    n_buildings = len(set(registry.building))
    n_grids = len(set(registry.grid))
    # 3 buildings per grid -> 2 grid workers per grid (a worker covers at most 2 buildings of one grid)
    assert roles.count(Role.GRID_WORKER) == 2 * n_grids
    assert all(len(w.buildings) <= 2 for w in roster.workers.values() if w.role is Role.GRID_WORKER)
    assert roles.count(Role.GRID_LEADER) == n_grids
    assert roles.count(Role.MAINTENANCE) == roles.count(Role.DUTY_DESK) == len(set(registry.community))
    assert n_buildings == 30


def test_ids_hierarchy_and_gateways_follow_the_naming_scheme() -> None:
    cohort = make_cohort(200, 1, with_gas_fraction=0.25)
    r = cohort.registry
    assert r.household_ids[0] == "H00001" and r.household_ids[-1] == "H00200"
    first = r.household(0).address
    assert (first.community, first.grid, first.building) == ("C1", "G01", "B001")
    assert r.household(12).address.building == "B002"
    assert r.household(4 * 12).address.grid == "G02"
    assert r.household(3 * 4 * 12).address.community == "C2"
    assert list(r.meter_ids[:2]) == ["W00001", "E00001"]
    gas = [m for m in r.meter_ids if m.startswith("G")]
    assert len(gas) == int(cohort.homes.has_gas.sum()) > 0
    assert (r.meter_utility == 2).sum() == len(gas)
    # consecutive meters, 64 per gateway
    counts = np.bincount(r.meter_gateway)
    assert counts[:-1].tolist() == [64] * (len(counts) - 1) and 0 < counts[-1] <= 64
    assert np.all(np.diff(r.meter_gateway) >= 0)
    assert r.gateway_ids[0] == "GW001"
    assert {r.meter(i).utility for i in range(r.n_meters)} == {Utility.WATER, Utility.ELECTRICITY, Utility.GAS}


def test_tiers_are_about_15_35_50_percent_and_follow_age() -> None:
    cohort = make_cohort(1000, 2)
    tiers = cohort.registry.tier
    shares = np.bincount(tiers, minlength=3) / len(tiers)
    assert shares.tolist() == pytest.approx([0.15, 0.35, 0.50], abs=0.01)
    age = cohort.registry.age
    red, green = 0, 2
    assert age[tiers == red].mean() > age[tiers == green].mean() + 5
    assert {cohort.registry.household(i).tier for i in range(3)} <= set(Tier)


def test_home_profiles_stay_in_their_documented_ranges() -> None:
    homes = make_cohort(2000, 4).homes
    assert len(homes) == 2000
    assert homes.wake_hour.min() >= 5.0 and homes.wake_hour.max() <= 7.5
    assert homes.sleep_hour.min() >= 21.0 and homes.sleep_hour.max() <= 23.75
    assert (24 - homes.sleep_hour + homes.wake_hour).max() <= 8.25 + 1e-9
    assert homes.base_load_w.min() >= 24 and homes.base_load_w.max() <= 61
    np.testing.assert_allclose(homes.base_load_w, homes.standby_w + homes.fridge_on_w * homes.fridge_duty)
    assert (homes.standby_w + homes.fridge_on_w).max() < 150  # the fridge alone never looks like a person
    assert homes.evening_load_w.min() >= 60 and homes.evening_load_w.max() <= 200
    assert not homes.has_gas.any()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_households": 0}, "n_households must be >= 1, got 0"),
        ({"meters_per_gateway": 0}, "meters_per_gateway must be >= 1, got 0"),
        ({"with_gas_fraction": 1.5}, "with_gas_fraction must be within 0..1, got 1.5"),
    ],
)
def test_bad_arguments_are_named(kwargs: dict[str, float], message: str) -> None:
    args = {"n_households": 10, **kwargs}
    n = int(args.pop("n_households"))
    with pytest.raises(ValueError, match=message.replace(".", r"\.")):
        make_cohort(n, 0, **args)  # type: ignore[arg-type]
