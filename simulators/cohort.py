"""A synthetic city district: households, meters, gateways, workers and daily routines.

Assumptions of the model:

* Households fill the grid hierarchy in order: ``households_per_building`` homes per
  building (two stairwell units, two doors per floor), ``buildings_per_grid`` buildings
  per grid, ``grids_per_community`` grids per community. Building ids are unique city-wide.
* Every home has a water and an electricity meter; ``with_gas_fraction`` of them also a
  gas meter (they cook and heat shower water on gas). Meter numbers repeat the household
  number (``H00042`` has ``W00042``, ``E00042``, ``G00042``).
* Gateways take consecutive meters in registry order, ``meters_per_gateway`` each, the
  way one concentrator serves a stairwell: a home's meters usually share a gateway.
* Tiers follow age (older residents are likelier red): ~15% red, 35% yellow, 50% green.
* Routine parameters (:class:`HomeProfiles`) are per-home numpy columns, drawn once
  from the cohort seed; :mod:`simulators.routine` turns them into daily usage.
* Everything is drawn from ``numpy.random.default_rng`` seeded with the cohort seed:
  the same arguments give the same cohort, byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from lifesign.grid import Address, Household, Meter, Resident, Role, Tier, Utility, Worker
from lifesign.registry import Registry
from lifesign.roster import Roster

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

_SURNAMES = (
    "Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou",
    "Xu", "Sun", "Ma", "Zhu", "Hu", "Guo", "He", "Lin", "Gao", "Luo",
)
_GIVEN = (
    "Fang", "Wei", "Min", "Jing", "Li", "Qiang", "Lei", "Jun", "Yan", "Hua",
    "Ping", "Gang", "Hui", "Ying", "Xia", "Ming", "Lan", "Zhen", "Shu", "Guo",
)
_RELATIONS = ("son", "daughter", "niece", "nephew", "neighbour")
# Order of the draw columns in HomeProfiles.draw: one row per household, so a home's
# profile depends only on (seed, its position), not on the cohort size.
_PROFILE_COLUMNS = 12


@dataclass(frozen=True)
class HomeProfiles:
    """Per-household routine parameters, one numpy entry per registry household index."""

    #: mean local hour of getting up (5.0 .. 7.5)
    wake_hour: FloatArray
    #: mean local hour of going to bed (21.0 .. 23.75)
    sleep_hour: FloatArray
    #: how far bed and wake times drift from day to day, hours (0.5 .. 0.75)
    drift_h: FloatArray
    #: target water use per day, litres (60 .. 160); the routine hits it on average
    daily_water_l: FloatArray
    #: chance of getting up for the toilet in a night (0.2 .. 0.8)
    night_toilet_p: FloatArray
    #: fridge + standby, always on, watts (30 .. 70)
    base_load_w: FloatArray
    #: lights + TV while awake in the evening, watts (60 .. 200)
    evening_load_w: FloatArray
    #: electric cooking (rice cooker, induction plate), watts (800 .. 1500)
    cooking_w: FloatArray
    #: chance of a shower on a given day (0.3 .. 0.8)
    shower_p: FloatArray
    #: chance of an extra tap use in each 1.5 h awake block, per slot (0.1 .. 0.5)
    extra_tap_p: FloatArray
    #: cooks and heats water with gas
    has_gas: BoolArray

    def __len__(self) -> int:
        return len(self.wake_hour)

    @classmethod
    def draw(cls, n: int, seed: int, with_gas_fraction: float = 0.0) -> HomeProfiles:
        u = np.random.default_rng([seed, 0x484F4D45]).random((n, _PROFILE_COLUMNS))
        sleep_hour = 21.0 + 2.75 * u[:, 0]
        night_h = 6.5 + 1.75 * u[:, 1]
        # Clipping keeps mornings plausible for the elderly and nights at most 8.25 h on average.
        wake_hour = np.clip(sleep_hour + night_h - 24.0, 5.0, 7.5)
        return cls(
            wake_hour=wake_hour,
            sleep_hour=sleep_hour,
            drift_h=0.5 + 0.25 * u[:, 2],
            daily_water_l=60.0 + 100.0 * u[:, 3],
            night_toilet_p=0.2 + 0.6 * u[:, 4],
            base_load_w=30.0 + 40.0 * u[:, 5],
            evening_load_w=60.0 + 140.0 * u[:, 6],
            cooking_w=800.0 + 700.0 * u[:, 7],
            shower_p=0.3 + 0.5 * u[:, 8],
            extra_tap_p=0.1 + 0.4 * u[:, 9],
            has_gas=u[:, 10] < with_gas_fraction,
        )

    def to_frame(self, household_ids: npt.NDArray[np.object_]) -> pd.DataFrame:
        columns = {"household_id": household_ids}
        for name in self.__dataclass_fields__:
            columns[name] = getattr(self, name)
        return pd.DataFrame(columns)


@dataclass(frozen=True)
class Cohort:
    registry: Registry
    roster: Roster
    homes: HomeProfiles
    seed: int = 0

    @property
    def n_households(self) -> int:
        return self.registry.n_households

    def write(self, folder: str | Path) -> None:
        """``households.csv``, ``meters.csv`` and ``roster.yaml`` (+ ``homes.csv``, the routines)."""
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        self.registry.write(out / "households.csv", out / "meters.csv")
        (out / "roster.yaml").write_text(self.roster.to_yaml_text(), encoding="utf-8")
        self.homes.to_frame(self.registry.household_ids).to_csv(
            out / "homes.csv", index=False, float_format="%.4f"
        )


def _ids(prefix: str, count: int, width: int) -> list[str]:
    width = max(width, len(str(count)))
    return [f"{prefix}{i:0{width}d}" for i in range(1, count + 1)]


def _phone(rng: np.random.Generator) -> str:
    digits = rng.integers(0, 10, size=8)
    return f"+86 13{int(rng.integers(0, 10))} {''.join(map(str, digits[:4]))} {''.join(map(str, digits[4:]))}"


def _name(rng: np.random.Generator) -> str:
    return f"{_SURNAMES[int(rng.integers(len(_SURNAMES)))]} {_GIVEN[int(rng.integers(len(_GIVEN)))]}"


def _tiers(age: npt.NDArray[np.int64], rng: np.random.Generator) -> list[Tier]:
    # Rank by age plus noise: older residents land in red more often, counts stay exact.
    score = age + rng.normal(0.0, 6.0, size=len(age))
    order = np.argsort(-score, kind="stable")
    n = len(age)
    n_red, n_yellow = round(0.15 * n), round(0.35 * n)
    tiers = [Tier.GREEN] * n
    for rank, index in enumerate(order):
        if rank < n_red:
            tiers[index] = Tier.RED
        elif rank < n_red + n_yellow:
            tiers[index] = Tier.YELLOW
    return tiers


def _check_positive(name: str, value: int) -> None:
    if value < 1:
        raise ValueError(f"make_cohort: {name} must be >= 1, got {value}")


def make_cohort(
    n_households: int,
    seed: int,
    *,
    households_per_building: int = 12,
    buildings_per_grid: int = 4,
    grids_per_community: int = 3,
    meters_per_gateway: int = 64,
    with_gas_fraction: float = 0.0,
) -> Cohort:
    """A seeded cohort: registry, roster and routine parameters."""
    for name, value in (
        ("n_households", n_households),
        ("households_per_building", households_per_building),
        ("buildings_per_grid", buildings_per_grid),
        ("grids_per_community", grids_per_community),
        ("meters_per_gateway", meters_per_gateway),
    ):
        _check_positive(name, value)
    if not 0.0 <= with_gas_fraction <= 1.0:
        raise ValueError(f"make_cohort: with_gas_fraction must be within 0..1, got {with_gas_fraction}")

    rng = np.random.default_rng([seed, 0x52454749])
    homes = HomeProfiles.draw(n_households, seed, with_gas_fraction)

    n_buildings = -(-n_households // households_per_building)
    n_grids = -(-n_buildings // buildings_per_grid)
    n_communities = -(-n_grids // grids_per_community)
    household_ids = _ids("H", n_households, 5)
    building_ids = _ids("B", n_buildings, 3)
    grid_ids = _ids("G", n_grids, 2)
    community_ids = [f"C{i}" for i in range(1, n_communities + 1)]

    ages = rng.integers(65, 96, size=n_households)
    tiers = _tiers(ages, rng)
    units = 2 if households_per_building >= 2 else 1
    per_unit = -(-households_per_building // units)
    households: list[Household] = []
    for i, household_id in enumerate(household_ids):
        b = i // households_per_building
        g = b // buildings_per_grid
        in_building = i % households_per_building
        in_unit = in_building % per_unit
        relation = _RELATIONS[int(rng.integers(len(_RELATIONS)))]
        households.append(
            Household(
                household_id=household_id,
                address=Address(
                    community=community_ids[g // grids_per_community],
                    grid=grid_ids[g],
                    building=building_ids[b],
                    unit=str(in_building // per_unit + 1),
                    room=f"{in_unit // 2 + 1}{in_unit % 2 + 1:02d}",
                ),
                resident=Resident(
                    name=_name(rng),
                    age=int(ages[i]),
                    phone=_phone(rng),
                    emergency_contact=f"{_name(rng)} ({relation}) {_phone(rng)}",
                ),
                tier=tiers[i],
            )
        )

    meters: list[tuple[str, str, Utility]] = []
    for i, household_id in enumerate(household_ids):
        number = household_id[1:]
        meters.append((f"W{number}", household_id, Utility.WATER))
        meters.append((f"E{number}", household_id, Utility.ELECTRICITY))
        if homes.has_gas[i]:
            meters.append((f"G{number}", household_id, Utility.GAS))
    gateway_ids = _ids("GW", -(-len(meters) // meters_per_gateway), 3)
    meter_records = [
        Meter(meter_id, household_id, utility, gateway_ids[k // meters_per_gateway])
        for k, (meter_id, household_id, utility) in enumerate(meters)
    ]

    registry = Registry.from_records(households, meter_records)
    roster = _make_roster(building_ids, grid_ids, community_ids, buildings_per_grid, grids_per_community, rng)
    return Cohort(registry=registry, roster=roster, homes=homes, seed=seed)


def _make_roster(
    building_ids: list[str],
    grid_ids: list[str],
    community_ids: list[str],
    buildings_per_grid: int,
    grids_per_community: int,
    rng: np.random.Generator,
) -> Roster:
    workers: list[Worker] = []
    # One grid worker per two buildings of the same grid: a worker never straddles grids.
    pairs: list[tuple[str, ...]] = []
    for g in range(len(grid_ids)):
        buildings = building_ids[g * buildings_per_grid:(g + 1) * buildings_per_grid]
        pairs.extend(tuple(buildings[k:k + 2]) for k in range(0, len(buildings), 2))
    for worker_id, pair in zip(_ids("gw-", len(pairs), 3), pairs):
        workers.append(Worker(worker_id, _name(rng), Role.GRID_WORKER, _phone(rng), buildings=pair))
    for g, grid in enumerate(grid_ids):
        leader_id = f"gl-{grid[1:]}"
        community = community_ids[g // grids_per_community]
        workers.append(
            Worker(leader_id, _name(rng), Role.GRID_LEADER, _phone(rng), communities=(community,), grids=(grid,))
        )
    for community in community_ids:
        workers.append(
            Worker(f"desk-{community}", f"Community {community} duty desk", Role.DUTY_DESK,
                   f"+86 21 6{int(rng.integers(0, 10**6)):06d}", communities=(community,))
        )
        workers.append(
            Worker(f"mt-{community}", _name(rng), Role.MAINTENANCE, _phone(rng), communities=(community,))
        )
    return Roster({w.worker_id: w for w in workers})


__all__ = ["Cohort", "HomeProfiles", "make_cohort"]
