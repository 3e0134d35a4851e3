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
  from the cohort seed; :mod:`simulators.routine` turns them into daily usage. The
  lifestyle columns (lie-ins, naps, baths, visitors, absence rates, fridge) come from a
  second stream; ``low_user_fraction`` of homes are very low users (25-45 L a day, a
  shower every few days; with ``low_users_cook_little`` cooking only their evening meal).
* ``appliances`` chooses the automatic loads (:mod:`simulators.appliances`): ``simple``
  (a 55-90 W fridge, 8-16 W standby) or ``realistic`` (fridge or fridge-freezer of
  100-250 W, freezers, defrost heaters, standby up to 300 W), drawn from a stream of its own.
* ``long_sleeper_fraction`` of homes are long sleepers (a stream of their own): in bed
  20:00-22:00 for 10-12 h, awake 12-14 h, naps on 40-90 % of days lasting 1.5-5 h.
* The registry is built as columns (no per-home objects): a million homes take seconds.
* Everything is drawn from ``numpy.random.default_rng`` seeded with the cohort seed:
  the same arguments give the same cohort, byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from lifesign.grid import TIER_CODES, Role, Tier, Worker
from lifesign.registry import Registry
from lifesign.roster import Roster
from simulators.appliances import average_w, draw_automatic_loads

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
# Lifestyle columns come from a second stream so adding them left the first draw alone.
_LIFESTYLE_COLUMNS = 16
_STREAM_SLEEPERS = 0x534C5052


@dataclass(frozen=True)
class HomeProfiles:
    """Per-household routine parameters, one numpy entry per registry household index."""

    #: mean local hour of getting up (5.0 .. 7.5; long sleepers 6.0 .. 10.0)
    wake_hour: FloatArray
    #: mean local hour of going to bed (21.0 .. 23.75; long sleepers 20.0 .. 22.0)
    sleep_hour: FloatArray
    #: how far bed and wake times drift from day to day, hours (0.5 .. 0.75)
    drift_h: FloatArray
    #: target water use per day, litres (60 .. 160); the routine hits it on average
    daily_water_l: FloatArray
    #: chance of getting up for the toilet in a night (0.2 .. 0.8)
    night_toilet_p: FloatArray
    #: standby + cold appliances averaged over a day, watts (simple: 24 .. 61)
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
    #: always-on standby (router, TV, chargers), watts (simple 8 .. 16; realistic 10 .. 300, median 30)
    standby_w: FloatArray
    #: fridge compressor while running, watts (simple 55 .. 90: with the standby under
    #: 106 W, below a 150 W "someone is using power" test; realistic 100 .. 250)
    fridge_on_w: FloatArray
    #: share of time the compressor runs (simple 0.3 .. 0.5; realistic 0.25 .. 0.5)
    fridge_duty: FloatArray
    #: one compressor cycle (on + off), minutes (simple 40 .. 60; realistic 30 .. 90)
    fridge_period_min: FloatArray
    #: where in its cycle the fridge is at local midnight of day 0 (0 .. 1)
    fridge_phase: FloatArray
    #: extra lie-in at weekends, hours (0 .. 1)
    weekend_late_h: FloatArray
    #: chance of a late morning (1.5 .. 3 h later than usual) on a given day (0.02 .. 0.08)
    late_rise_p: FloatArray
    #: chance of an afternoon nap (1 .. 2.5 h, no water, no appliances) on a given day (0.1 .. 0.6)
    nap_p: FloatArray
    #: baths (a tub of 80 .. 140 L) per week (0 .. 2)
    baths_per_week: FloatArray
    #: washing-machine loads per week (1 .. 3)
    laundry_per_week: FloatArray
    #: chance of visitors on a weekday; weekends double it (0.03 .. 0.15)
    visitor_p: FloatArray
    #: overnight stays with family per month (0 .. 2.5, most homes under 1)
    overnight_per_month: FloatArray
    #: trips of 2 .. 10 days per year (0 .. 3)
    trips_per_year: FloatArray
    #: hospital stays of 3 .. 14 days per year (0 .. 0.6)
    hospital_per_year: FloatArray
    #: space heater in winter / air conditioner in summer, watts (0 for half the homes, else 700 .. 1500)
    climate_w: FloatArray
    #: a very low user: 25 .. 45 L a day, dim evenings, a water event every 3 h instead of 1.5 h
    low_user: BoolArray
    #: a second cold appliance, a freezer (realistic: 30 % of homes): watts while on (0: none),
    #: duty, cycle minutes and phase, like the fridge's
    freezer_on_w: FloatArray
    freezer_duty: FloatArray
    freezer_period_min: FloatArray
    freezer_phase: FloatArray
    #: a defrost heater (realistic: half the homes): watts (0: none) for defrost_min
    #: every defrost_every_h hours, from defrost_phase of that period
    defrost_w: FloatArray
    defrost_every_h: FloatArray
    defrost_min: FloatArray
    defrost_phase: FloatArray
    #: the standby drifts by ± this share (0: constant) over a sine of standby_drift_days
    standby_drift: FloatArray
    standby_drift_days: FloatArray
    standby_drift_phase: FloatArray
    #: sleeps 10 .. 12 h a night and naps long
    long_sleeper: BoolArray
    #: nap length factor (1; long sleepers 1.5 .. 2: naps of up to 5 h)
    nap_scale: FloatArray
    #: cooks only the evening meal (very low users, when the cohort says so)
    cooks_little: BoolArray

    def __len__(self) -> int:
        return len(self.wake_hour)

    @classmethod
    def draw(cls, n: int, seed: int, with_gas_fraction: float = 0.0, low_user_fraction: float = 0.0,
             appliances: str = "simple", long_sleeper_fraction: float = 0.0,
             low_users_cook_little: bool = False) -> HomeProfiles:
        u = np.random.default_rng([seed, 0x484F4D45]).random((n, _PROFILE_COLUMNS))
        v = np.random.default_rng([seed, 0x4C494645]).random((n, _LIFESTYLE_COLUMNS))
        low_user = v[:, 15] < low_user_fraction
        loads = draw_automatic_loads(n, seed, appliances, {
            "standby_w": 8.0 + 8.0 * v[:, 0], "fridge_on_w": 55.0 + 35.0 * v[:, 1], "fridge_duty": 0.3 + 0.2 * v[:, 2],
            "fridge_period_min": 40.0 + 20.0 * v[:, 3], "fridge_phase": v[:, 4]})
        sleep_hour = 21.0 + 2.75 * u[:, 0]
        night_h = 6.5 + 1.75 * u[:, 1]
        # Clipping keeps mornings plausible for the elderly and nights at most 8.25 h on average.
        wake_hour = np.clip(sleep_hour + night_h - 24.0, 5.0, 7.5)
        nap_p = 0.1 + 0.5 * v[:, 7]
        s = np.random.default_rng([seed, _STREAM_SLEEPERS]).random((n, 5)) if long_sleeper_fraction > 0 else np.ones((n, 5))
        long_sleeper = s[:, 0] < long_sleeper_fraction
        long_bed = 20.0 + 2.0 * s[:, 1]
        sleep_hour = np.where(long_sleeper, long_bed, sleep_hour)
        wake_hour = np.where(long_sleeper, long_bed + 10.0 + 2.0 * s[:, 2] - 24.0, wake_hour)
        return cls(
            wake_hour=wake_hour,
            sleep_hour=sleep_hour,
            drift_h=0.5 + 0.25 * u[:, 2],
            daily_water_l=np.where(low_user, 25.0 + 20.0 * u[:, 3], 60.0 + 100.0 * u[:, 3]),
            night_toilet_p=0.2 + 0.6 * u[:, 4],
            base_load_w=average_w(loads),
            evening_load_w=np.where(low_user, 0.4, 1.0) * (60.0 + 140.0 * u[:, 6]),
            cooking_w=800.0 + 700.0 * u[:, 7],
            shower_p=np.where(low_user, 0.3, 1.0) * (0.3 + 0.5 * u[:, 8]),
            extra_tap_p=0.1 + 0.4 * u[:, 9],
            has_gas=u[:, 10] < with_gas_fraction,
            standby_w=loads["standby_w"],
            fridge_on_w=loads["fridge_on_w"],
            fridge_duty=loads["fridge_duty"],
            fridge_period_min=loads["fridge_period_min"],
            fridge_phase=loads["fridge_phase"],
            weekend_late_h=v[:, 5],
            late_rise_p=0.02 + 0.06 * v[:, 6],
            nap_p=np.where(long_sleeper, 0.4 + 0.5 * s[:, 3], nap_p),
            baths_per_week=2.0 * v[:, 8],
            laundry_per_week=1.0 + 2.0 * v[:, 9],
            visitor_p=0.03 + 0.12 * v[:, 10],
            # squared: most homes rarely stay away, a few often
            overnight_per_month=2.5 * v[:, 11] ** 2,
            trips_per_year=3.0 * v[:, 12] ** 2,
            hospital_per_year=0.6 * v[:, 13] ** 2,
            climate_w=np.where(v[:, 14] < 0.5, 0.0, 700.0 + 1600.0 * (v[:, 14] - 0.5)),
            low_user=low_user,
            **{k: loads[k] for k in loads if k.startswith(("freezer", "defrost", "standby_drift"))},
            long_sleeper=long_sleeper,
            nap_scale=np.where(long_sleeper, 1.5 + 0.5 * s[:, 4], 1.0),
            cooks_little=low_user & low_users_cook_little,
        )

    def rows(self, block: slice) -> HomeProfiles:
        """The profiles of a contiguous block of households (views, no copies)."""
        return HomeProfiles(**{name: getattr(self, name)[block] for name in self.__dataclass_fields__})

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
        # Rounded, then written by pandas' fast path: a float_format costs seconds per 100k homes.
        self.homes.to_frame(self.registry.household_ids).round(4).to_csv(out / "homes.csv", index=False)


def _ids(prefix: str, count: int, width: int) -> list[str]:
    width = max(width, len(str(count)))
    return [f"{prefix}{i:0{width}d}" for i in range(1, count + 1)]


def _phone(rng: np.random.Generator) -> str:
    return _phones(rng.integers(0, 10**9, size=1))[0]


def _phones(draw: npt.NDArray[np.int64]) -> list[str]:
    """Mobile numbers (+86 13x xxxx xxxx) from draws in 0 .. 1e9."""
    return [f"+86 13{d // 10**8} {d // 10**4 % 10**4:04d} {d % 10**4:04d}" for d in draw.tolist()]


def _name(rng: np.random.Generator) -> str:
    return _names(rng.integers(0, 10**9, size=1), rng.integers(0, 10**9, size=1))[0]


def _names(surname: npt.NDArray[np.int64], given: npt.NDArray[np.int64]) -> list[str]:
    return [f"{_SURNAMES[s % len(_SURNAMES)]} {_GIVEN[g % len(_GIVEN)]}" for s, g in zip(surname.tolist(), given.tolist())]


def _tier_codes(age: npt.NDArray[np.int64], rng: np.random.Generator) -> npt.NDArray[np.int8]:
    # Rank by age plus noise: older residents land in red more often, counts stay exact.
    score = age + rng.normal(0.0, 6.0, size=len(age))
    order = np.argsort(-score, kind="stable")
    n = len(age)
    n_red, n_yellow = round(0.15 * n), round(0.35 * n)
    tiers = np.full(n, TIER_CODES[Tier.GREEN], dtype=np.int8)
    tiers[order[:n_red]] = TIER_CODES[Tier.RED]
    tiers[order[n_red:n_red + n_yellow]] = TIER_CODES[Tier.YELLOW]
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
    low_user_fraction: float = 0.0,
    appliances: str = "simple",
    long_sleeper_fraction: float = 0.0,
    low_users_cook_little: bool = False,
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
    for name, fraction in (("with_gas_fraction", with_gas_fraction), ("low_user_fraction", low_user_fraction),
                           ("long_sleeper_fraction", long_sleeper_fraction)):
        if not 0.0 <= fraction <= 1.0:
            raise ValueError(f"make_cohort: {name} must be within 0..1, got {fraction}")

    rng = np.random.default_rng([seed, 0x52454749])
    homes = HomeProfiles.draw(n_households, seed, with_gas_fraction, low_user_fraction, appliances, long_sleeper_fraction,
                              low_users_cook_little)

    n_buildings = -(-n_households // households_per_building)
    n_grids = -(-n_buildings // buildings_per_grid)
    n_communities = -(-n_grids // grids_per_community)
    household_ids = _ids("H", n_households, 5)
    building_ids = _ids("B", n_buildings, 3)
    grid_ids = _ids("G", n_grids, 2)
    community_ids = [f"C{i}" for i in range(1, n_communities + 1)]

    ages = rng.integers(65, 96, size=n_households)
    tiers = _tier_codes(ages, rng)
    # Columns, not objects: a city has a million homes.
    i = np.arange(n_households)
    b = i // households_per_building
    g = b // buildings_per_grid
    units = 2 if households_per_building >= 2 else 1
    per_unit = -(-households_per_building // units)
    in_building = i % households_per_building
    in_unit = in_building % per_unit
    draws = rng.integers(0, 10**9, size=(n_households, 7))
    names = _names(draws[:, 0], draws[:, 1])
    phones = _phones(draws[:, 2])
    contacts = [f"{name} ({_RELATIONS[r % len(_RELATIONS)]}) {phone}"
                for name, r, phone in zip(_names(draws[:, 3], draws[:, 4]), draws[:, 5].tolist(), _phones(draws[:, 6]))]
    obj = np.asarray
    room = [f"{r // 2 + 1}{r % 2 + 1:02d}" for r in range(per_unit)]
    unit_names = [str(u + 1) for u in range(units + 1)]

    counts = np.where(homes.has_gas, 3, 2)
    meter_household = np.repeat(i, counts).astype(np.int32)
    first = np.cumsum(counts) - counts
    meter_utility = (np.arange(len(meter_household)) - first[meter_household]).astype(np.int8)  # W=0, E=1, G=2
    letters = np.array(["W", "E", "G"], dtype=object)
    numbers = np.array([h[1:] for h in household_ids], dtype=object)
    meter_ids = letters[meter_utility] + numbers[meter_household]
    meter_gateway = (np.arange(len(meter_household)) // meters_per_gateway).astype(np.int32)
    registry = Registry(
        household_ids=obj(household_ids, dtype=object),
        community=obj(community_ids, dtype=object)[g // grids_per_community],
        grid=obj(grid_ids, dtype=object)[g],
        building=obj(building_ids, dtype=object)[b],
        unit=obj(unit_names, dtype=object)[in_building // per_unit],
        room=obj(room, dtype=object)[in_unit],
        resident_name=obj(names, dtype=object),
        age=ages.astype(np.int16),
        phone=obj(phones, dtype=object),
        emergency_contact=obj(contacts, dtype=object),
        tier=tiers,
        meter_ids=meter_ids,
        meter_household=meter_household,
        meter_utility=meter_utility,
        meter_gateway=meter_gateway,
        gateway_ids=_ids("GW", int(meter_gateway[-1]) + 1, 3),
    )
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
