"""The small grid of the dispatch tests: households and roster (shared with the child
processes of the kill test, which cannot import a conftest)."""

from __future__ import annotations

from lifesign.grid import Address, Household, Resident, Tier

T0 = 1_763_700_000.0  # 2025-11-21 04:40 UTC: 12:40 in UTC+8

ROSTER_YAML = """
workers:
  - id: gw-zhang
    name: Zhang Wei
    role: grid_worker
    phone: "+86 138 0000 0001"
    buildings: [B001, B002]
  - id: gw-zhao
    name: Zhao Min
    role: grid_worker
    phone: "+86 138 0000 0004"
    buildings: [B003]
  - id: gl-li
    name: Li Na
    role: grid_leader
    phone: "+86 138 0000 0002"
    grids: [G01]
  - id: desk-c1
    name: Community C1 duty desk
    role: duty_desk
    phone: "+86 21 0000 0000"
    communities: [C1]
"""


def _household(
    hid: str, grid: str, building: str, name: str, age: int, tier: Tier, community: str = "C1"
) -> Household:
    return Household(
        hid,
        Address(community, grid, building, "2", "301"),
        Resident(name, age, f"+86 139 {hid}", f"{name} Jr. +86 137 0000 {hid[-4:]}"),
        tier,
    )


HOUSEHOLDS = [
    _household("H0001", "G01", "B001", "Wang Fang", 82, Tier.RED),
    _household("H0002", "G01", "B002", "Chen Jie", 76, Tier.YELLOW),
    # grid G02 has no leader: its chain is grid worker → duty desk
    _household("H0003", "G02", "B003", "Liu Yang", 69, Tier.GREEN),
    # building B009 is covered by nobody below the desk
    _household("H0009", "G09", "B009", "Sun Li", 90, Tier.RED),
    # community C2 is in nobody's roster
    _household("H0010", "G20", "B020", "Zhou Hua", 88, Tier.RED, community="C2"),
]
