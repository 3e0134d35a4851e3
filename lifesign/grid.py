"""The grid (网格) hierarchy and the people in it.

community → grid → building → unit → household; each household has one resident,
a risk tier and meters. Workers cover parts of the hierarchy.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Utility(str, Enum):
    WATER = "water"
    ELECTRICITY = "electricity"
    GAS = "gas"


#: Stable small integer codes used in the columnar arrays (int8).
UTILITY_CODES: dict[Utility, int] = {Utility.WATER: 0, Utility.ELECTRICITY: 1, Utility.GAS: 2}
UTILITY_BY_CODE: dict[int, Utility] = {v: k for k, v in UTILITY_CODES.items()}


class Tier(str, Enum):
    """Three-colour risk tier (红/黄/绿)."""

    RED = "red"
    YELLOW = "yellow"
    GREEN = "green"


TIER_CODES: dict[Tier, int] = {Tier.RED: 0, Tier.YELLOW: 1, Tier.GREEN: 2}
TIER_BY_CODE: dict[int, Tier] = {v: k for k, v in TIER_CODES.items()}


class Role(str, Enum):
    GRID_WORKER = "grid_worker"  # 网格员: visits the door
    GRID_LEADER = "grid_leader"  # 网格长: first escalation, infrastructure orders
    DUTY_DESK = "duty_desk"  # community duty desk: last line inside the community
    MAINTENANCE = "maintenance"  # meter and gateway faults, not welfare visits


@dataclass(frozen=True)
class Address:
    community: str
    grid: str
    building: str
    unit: str
    room: str

    def __str__(self) -> str:
        return f"{self.community} / {self.grid} / bldg {self.building} / unit {self.unit} / room {self.room}"


@dataclass(frozen=True)
class Resident:
    name: str
    age: int
    phone: str
    emergency_contact: str


@dataclass(frozen=True)
class Household:
    household_id: str
    address: Address
    resident: Resident
    tier: Tier


@dataclass(frozen=True)
class Meter:
    meter_id: str
    household_id: str
    utility: Utility
    gateway_id: str
    #: "register": the value is the cumulative register (most meters); "interval": the
    #: value is the usage during the interval that ends at the reading's time
    reading: str = "register"


@dataclass(frozen=True)
class Worker:
    worker_id: str
    name: str
    role: Role
    phone: str
    #: what the worker covers, each a building id, grid id or community id depending on role
    communities: tuple[str, ...] = ()
    grids: tuple[str, ...] = ()
    buildings: tuple[str, ...] = ()
