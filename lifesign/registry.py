"""Households and meters of a city, held as columns.

A city has about a million homes, so the registry loads from CSV into numpy
columns (one row per household / meter) and builds a :class:`Household` object
only when a person needs to read one (a ticket, the CLI).

``households.csv`` columns: household_id, community, grid, building, unit, room,
resident_name, age, phone, emergency_contact, tier.
``meters.csv`` columns: meter_id, household_id, utility, gateway_id.
Building ids are unique across the city (a worker's coverage names them).
"""

from __future__ import annotations

import io
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from lifesign.config.errors import ConfigError
from lifesign.grid import (
    TIER_BY_CODE,
    TIER_CODES,
    UTILITY_BY_CODE,
    UTILITY_CODES,
    Address,
    Household,
    Meter,
    Resident,
    Tier,
    Utility,
)

HOUSEHOLD_COLUMNS = (
    "household_id", "community", "grid", "building", "unit", "room",
    "resident_name", "age", "phone", "emergency_contact", "tier",
)
METER_COLUMNS = ("meter_id", "household_id", "utility", "gateway_id")
#: optional meters.csv column: "register" (default) or "interval" (usage per interval)
READING_KINDS = ("register", "interval")


@dataclass
class Registry:
    """Columnar registry. Household and meter indexes are positions in these arrays."""

    household_ids: npt.NDArray[np.object_]
    community: npt.NDArray[np.object_]
    grid: npt.NDArray[np.object_]
    building: npt.NDArray[np.object_]
    unit: npt.NDArray[np.object_]
    room: npt.NDArray[np.object_]
    resident_name: npt.NDArray[np.object_]
    age: npt.NDArray[np.int16]
    phone: npt.NDArray[np.object_]
    emergency_contact: npt.NDArray[np.object_]
    tier: npt.NDArray[np.int8]
    meter_ids: npt.NDArray[np.object_]
    meter_household: npt.NDArray[np.int32]
    meter_utility: npt.NDArray[np.int8]
    meter_gateway: npt.NDArray[np.int32]
    gateway_ids: list[str]
    #: True for interval-usage meters (the value is usage per interval, not a register)
    meter_interval: npt.NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))
    household_index: dict[str, int] = field(default_factory=dict)
    meter_index: dict[str, int] = field(default_factory=dict)
    gateway_index: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.meter_interval) != len(self.meter_ids):
            self.meter_interval = np.zeros(len(self.meter_ids), dtype=bool)
        if not self.household_index:
            self.household_index = {h: i for i, h in enumerate(self.household_ids)}
        if not self.meter_index:
            self.meter_index = {m: i for i, m in enumerate(self.meter_ids)}
        if not self.gateway_index:
            self.gateway_index = {g: i for i, g in enumerate(self.gateway_ids)}

    @property
    def n_households(self) -> int:
        return len(self.household_ids)

    @property
    def n_meters(self) -> int:
        return len(self.meter_ids)

    def household(self, index: int) -> Household:
        return Household(
            household_id=str(self.household_ids[index]),
            address=Address(
                str(self.community[index]), str(self.grid[index]), str(self.building[index]),
                str(self.unit[index]), str(self.room[index]),
            ),
            resident=Resident(
                str(self.resident_name[index]), int(self.age[index]),
                str(self.phone[index]), str(self.emergency_contact[index]),
            ),
            tier=TIER_BY_CODE[int(self.tier[index])],
        )

    def household_by_id(self, household_id: str) -> Household:
        try:
            return self.household(self.household_index[household_id])
        except KeyError:
            raise LookupError(f"No household by the id of {household_id!r} is registered") from None

    def meter(self, index: int) -> Meter:
        return Meter(
            str(self.meter_ids[index]),
            str(self.household_ids[self.meter_household[index]]),
            UTILITY_BY_CODE[int(self.meter_utility[index])],
            self.gateway_ids[int(self.meter_gateway[index])],
            "interval" if self.meter_interval[index] else "register",
        )

    def meters_of(self, household_index: int) -> list[int]:
        return [int(i) for i in np.flatnonzero(self.meter_household == household_index)]

    def of_communities(self, communities: Collection[str]) -> Registry:
        """The households of these communities and their meters and gateways, in registry
        order, indexes renumbered: what one partition of a city watches.

        >>> reg = Registry.from_records(
        ...     [Household(f"H{i}", Address(c, "G", "B", "U", "1"), Resident("R", 80, "", ""), Tier.RED)
        ...      for i, c in enumerate("ABA")],
        ...     [Meter(f"W{i}", f"H{i}", Utility.WATER, f"GW-{c}") for i, c in enumerate("ABA")])
        >>> part = reg.of_communities(["A"])
        >>> list(part.household_ids), list(part.meter_ids), part.gateway_ids, part.meter_household.tolist()
        (['H0', 'H2'], ['W0', 'W2'], ['GW-A'], [0, 1])
        """
        keep = np.isin(self.community, np.asarray(list(communities), dtype=object))
        new_index = np.cumsum(keep, dtype=np.int64) - 1
        meters = keep[self.meter_household]
        gateway_codes, used = np.unique(self.meter_gateway[meters], return_inverse=True)
        return Registry(
            household_ids=self.household_ids[keep], community=self.community[keep], grid=self.grid[keep],
            building=self.building[keep], unit=self.unit[keep], room=self.room[keep],
            resident_name=self.resident_name[keep], age=self.age[keep], phone=self.phone[keep],
            emergency_contact=self.emergency_contact[keep], tier=self.tier[keep],
            meter_ids=self.meter_ids[meters],
            meter_household=new_index[self.meter_household[meters]].astype(np.int32),
            meter_utility=self.meter_utility[meters],
            meter_gateway=used.reshape(-1).astype(np.int32),
            gateway_ids=[self.gateway_ids[int(g)] for g in gateway_codes],
            meter_interval=self.meter_interval[meters],
        )

    def gateway_communities(self) -> dict[str, set[str]]:
        """The communities each gateway's meters serve (a concentrator may serve two)."""
        served: dict[str, set[str]] = {g: set() for g in self.gateway_ids}
        pairs = zip(self.meter_gateway.tolist(), self.community[self.meter_household].tolist())
        for gateway, community in set(pairs):
            served[self.gateway_ids[gateway]].add(str(community))
        return served

    # -- building -----------------------------------------------------------
    @classmethod
    def from_records(cls, households: Sequence[Household], meters: Sequence[Meter]) -> Registry:
        """Build a registry from objects (simulators, tests)."""
        hh = pd.DataFrame(
            {
                "household_id": [h.household_id for h in households],
                "community": [h.address.community for h in households],
                "grid": [h.address.grid for h in households],
                "building": [h.address.building for h in households],
                "unit": [h.address.unit for h in households],
                "room": [h.address.room for h in households],
                "resident_name": [h.resident.name for h in households],
                "age": [str(h.resident.age) for h in households],
                "phone": [h.resident.phone for h in households],
                "emergency_contact": [h.resident.emergency_contact for h in households],
                "tier": [h.tier.value for h in households],
            },
            columns=list(HOUSEHOLD_COLUMNS),
        )
        mt = pd.DataFrame(
            {
                "meter_id": [m.meter_id for m in meters],
                "household_id": [m.household_id for m in meters],
                "utility": [m.utility.value for m in meters],
                "gateway_id": [m.gateway_id for m in meters],
                "reading": [m.reading for m in meters],
            },
            columns=[*METER_COLUMNS, "reading"],
        )
        return _from_frames(hh, "households", mt, "meters")

    @classmethod
    def load(cls, households_csv: str | Path, meters_csv: str | Path) -> Registry:
        return _from_frames(
            _read_csv(households_csv, HOUSEHOLD_COLUMNS), str(households_csv),
            _read_csv(meters_csv, METER_COLUMNS), str(meters_csv),
        )

    def write(self, households_csv: str | Path, meters_csv: str | Path) -> None:
        pd.DataFrame(
            {
                "household_id": self.household_ids, "community": self.community,
                "grid": self.grid, "building": self.building, "unit": self.unit,
                "room": self.room, "resident_name": self.resident_name, "age": self.age,
                "phone": self.phone, "emergency_contact": self.emergency_contact,
                "tier": [TIER_BY_CODE[int(t)].value for t in self.tier],
            }
        ).to_csv(households_csv, index=False)
        pd.DataFrame(
            {
                "meter_id": self.meter_ids,
                "household_id": self.household_ids[self.meter_household],
                "utility": [UTILITY_BY_CODE[int(u)].value for u in self.meter_utility],
                "gateway_id": np.asarray(self.gateway_ids, dtype=object)[self.meter_gateway],
                **({"reading": np.where(self.meter_interval, "interval", "register")} if self.meter_interval.any() else {}),
            }
        ).to_csv(meters_csv, index=False)


def _read_csv(path: str | Path, columns: Sequence[str]) -> pd.DataFrame:
    p = Path(path)
    if not p.exists():
        raise ConfigError(str(p), None, "", "does not exist")
    try:
        frame = pd.read_csv(io.StringIO(_decode_csv(p)), dtype=str, keep_default_na=False, skipinitialspace=True)
    except pd.errors.ParserError as exc:
        raise ConfigError(str(p), None, "", f"is not a readable CSV file ({exc})") from None
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ConfigError(
            str(p), 1, missing[0],
            f"column is missing from the header (expected columns: {', '.join(columns)})",
        )
    return frame


#: what a registry file may be in: UTF-8 (with or without Excel's BOM), else what Excel
#: writes on a Chinese Windows ("CSV" there is GBK; GB18030 is its superset)
CSV_ENCODINGS = ("utf-8-sig", "gb18030")


def _decode_csv(path: Path) -> str:
    raw = path.read_bytes()
    for encoding in CSV_ENCODINGS:
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError(str(path), line, "", f"is neither UTF-8 nor GBK/GB18030 text (byte {exc.object[exc.start]:#04x} "
                          "cannot be read); save it as \"CSV UTF-8\" (Excel: File > Save As)") from None
    raise AssertionError("unreachable: utf-8 failed above")


def _row_error(file: str, frame: pd.DataFrame, bad: npt.NDArray[np.bool_], column: str, expected: str) -> ConfigError:
    row = int(np.flatnonzero(bad)[0])
    value = frame[column].iloc[row]
    # +2: one for the header line, one because CSV lines count from 1
    return ConfigError(file, row + 2, column, f"must be {expected}, got {value!r}")


def _require_text(file: str, frame: pd.DataFrame, columns: Sequence[str]) -> None:
    for column in columns:
        bad = (frame[column].str.strip() == "").to_numpy()
        if bad.any():
            raise _row_error(file, frame, bad, column, "a non-empty text")


def _require_unique(file: str, frame: pd.DataFrame, column: str) -> None:
    dup = frame[column].duplicated().to_numpy()
    if dup.any():
        row = int(np.flatnonzero(dup)[0])
        raise ConfigError(file, row + 2, column, f"must be unique, got {frame[column].iloc[row]!r} a second time")


def _from_frames(hh: pd.DataFrame, hh_file: str, mt: pd.DataFrame, mt_file: str) -> Registry:
    _require_text(hh_file, hh, ("household_id", "community", "grid", "building", "unit", "room"))
    _require_unique(hh_file, hh, "household_id")
    age = pd.to_numeric(hh["age"], errors="coerce")
    bad_age = (age.isna() | (age < 0) | (age > 130) | (age != age.round())).to_numpy()
    if bad_age.any():
        raise _row_error(hh_file, hh, bad_age, "age", "a whole number of years from 0 to 130")
    tiers = hh["tier"].str.strip().str.lower()
    bad_tier = (~tiers.isin([t.value for t in Tier])).to_numpy()
    if bad_tier.any():
        raise _row_error(hh_file, hh, bad_tier, "tier", "one of red, yellow, green")

    _require_text(mt_file, mt, METER_COLUMNS)
    _require_unique(mt_file, mt, "meter_id")
    household_index = {h: i for i, h in enumerate(hh["household_id"])}
    meter_household = mt["household_id"].map(household_index)
    bad_hh = meter_household.isna().to_numpy()
    if bad_hh.any():
        raise _row_error(mt_file, mt, bad_hh, "household_id", f"a household_id listed in {hh_file}")
    utilities = mt["utility"].str.strip().str.lower()
    utility_codes = utilities.map({u.value: c for u, c in UTILITY_CODES.items()})
    bad_utility = utility_codes.isna().to_numpy()
    if bad_utility.any():
        raise _row_error(mt_file, mt, bad_utility, "utility", "one of water, electricity, gas")
    gateway_codes, gateway_ids = pd.factorize(mt["gateway_id"], sort=True)
    if "reading" in mt.columns:
        reading = mt["reading"].str.strip().str.lower().replace("", "register")
        bad_reading = (~reading.isin(READING_KINDS)).to_numpy()
        if bad_reading.any():
            raise _row_error(mt_file, mt, bad_reading, "reading", "register or interval (or empty: register)")
        meter_interval = (reading == "interval").to_numpy()
    else:
        meter_interval = np.zeros(len(mt), dtype=bool)

    tier_codes = {t.value: c for t, c in TIER_CODES.items()}
    return Registry(
        household_ids=hh["household_id"].to_numpy(dtype=object),
        community=hh["community"].to_numpy(dtype=object),
        grid=hh["grid"].to_numpy(dtype=object),
        building=hh["building"].to_numpy(dtype=object),
        unit=hh["unit"].to_numpy(dtype=object),
        room=hh["room"].to_numpy(dtype=object),
        resident_name=hh["resident_name"].to_numpy(dtype=object),
        age=age.to_numpy().astype(np.int16),
        phone=hh["phone"].to_numpy(dtype=object),
        emergency_contact=hh["emergency_contact"].to_numpy(dtype=object),
        tier=tiers.map(tier_codes).to_numpy().astype(np.int8),
        meter_ids=mt["meter_id"].to_numpy(dtype=object),
        meter_household=meter_household.to_numpy().astype(np.int32),
        meter_utility=utility_codes.to_numpy().astype(np.int8),
        meter_gateway=np.asarray(gateway_codes, dtype=np.int32),
        gateway_ids=[str(g) for g in gateway_ids],
        meter_interval=meter_interval,
        household_index=household_index,
    )


__all__ = ["HOUSEHOLD_COLUMNS", "METER_COLUMNS", "Registry", "Utility"]
