"""Two partitions' dispatchers over one shared order store and mute store (site.yaml
``partitions:``), each with the registry of its own community: each escalates, releases
and storms only its own homes and areas, and either may deliver the other's outbox."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dispatch.channels import RecordingChannel
from dispatch.dispatcher import Dispatcher
from dispatch.mutes.muters import AbsenceMuter, OutageMuter
from dispatch.mutes.records import AlertFate
from dispatch.mutes.stage import MuteStage
from dispatch.mutes.store import SqliteMuteStore
from dispatch.mutes.storm import StormGuard, StormSettings
from dispatch.orderstores import SqliteWorkOrderStore
from lifesign.alerts import Alert, AlertState, EpisodeKey, Severity
from lifesign.clock import ManualClock
from lifesign.grid import Address, Household, Meter, Resident, Tier, Utility
from lifesign.registry import Registry
from lifesign.roster import Roster

T0 = 1_763_700_000.0
DEADLINES = {Tier.RED: 900.0, Tier.YELLOW: 3600.0, Tier.GREEN: 14_400.0}
HOLD_S = 1800.0
ROSTER = """
workers:
  - {id: gw-north, name: North, role: grid_worker, phone: "+86 138 0000 0001", buildings: [B001]}
  - {id: desk-north, name: North desk, role: duty_desk, phone: "+86 21 0000 0001", communities: [C1]}
  - {id: gw-south, name: South, role: grid_worker, phone: "+86 138 0000 0002", buildings: [B020, B021]}
  - {id: gl-south, name: South leader, role: grid_leader, phone: "+86 138 0000 0003", grids: [G20]}
  - {id: desk-south, name: South desk, role: duty_desk, phone: "+86 21 0000 0002", communities: [C2]}
"""
#: community C1 (north): building B001; community C2 (south): buildings B020 and B021; four homes each
HOMES = [(f"H{b}{i}", c, g, b) for c, g, b in (("C1", "G01", "B001"), ("C2", "G20", "B020"), ("C2", "G20", "B021"))
         for i in range(4)]


def city() -> Registry:
    households = [Household(hid, Address(c, g, b, "1", f"{i:03d}"),
                            Resident(f"Resident {hid}", 80, "+86 139 0000 0000", f"Son of {hid} +86 137 0000 0001"),
                            Tier.RED) for i, (hid, c, g, b) in enumerate(HOMES)]
    meters = [Meter(f"{u.value[0]}-{h.household_id}", h.household_id, u, f"GW-{h.address.community}")
              for h in households for u in (Utility.WATER, Utility.ELECTRICITY)]
    return Registry.from_records(households, meters)


def water_silent(household_id: str, at: float) -> Alert:
    return Alert(EpisodeKey(household_id, "no_usage", at - 40_000), AlertState.OPENED, at,
                 {"confirmed_silence_s": 40_000.0, "threshold_s": 36_000.0}, Severity.WARNING, ("water",))


def home_silent(household_id: str, at: float) -> Alert:
    return Alert(EpisodeKey(household_id, "no_usage", at - 40_000), AlertState.OPENED, at,
                 {"confirmed_silence_s": 40_000.0, "threshold_s": 36_000.0}, Severity.CRITICAL,
                 ("electricity", "water"))


class Partitions:
    """The north and south dispatchers, each on its community's share of the registry."""

    def __init__(self, folder: Path, clock: ManualClock) -> None:
        self.orders = SqliteWorkOrderStore(folder / "orders.sqlite")
        self.mutes = SqliteMuteStore(folder / "mutes.sqlite")
        self.channel = RecordingChannel()
        roster = Roster.parse(ROSTER)
        self.north, self.south = (self._dispatcher(city().of_communities([c]), roster, clock) for c in ("C1", "C2"))

    def _dispatcher(self, registry: Registry, roster: Roster, clock: ManualClock) -> Dispatcher:
        guard = StormGuard(self.mutes, registry, StormSettings(hold_s=HOLD_S))
        stage = MuteStage(self.mutes, [AbsenceMuter(self.mutes), OutageMuter(self.mutes)], guard)
        return Dispatcher(self.orders, registry, roster, [self.channel], clock, DEADLINES, mutes=stage)

    def close(self) -> None:
        self.orders.close()
        self.mutes.close()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def partitions(tmp_path: Path, clock: ManualClock) -> Iterator[Partitions]:
    both = Partitions(tmp_path, clock)
    yield both
    both.close()


def test_each_partition_escalates_only_its_own_orders(partitions: Partitions, clock: ManualClock) -> None:
    (order,) = partitions.north.handle([home_silent("HB0010", T0)])
    clock.advance_to(T0 + DEADLINES[Tier.RED] + 1)
    assert partitions.south.next_escalation_at() == float("inf")
    assert partitions.south.escalate_due() == []
    assert partitions.orders.get(order.order_id).escalation_level == 0
    (escalated,) = partitions.north.escalate_due()
    assert escalated.assignee == "desk-north"


def test_a_relative_of_another_partitions_home_is_reached_from_the_frozen_ticket(
        partitions: Partitions, clock: ManualClock) -> None:
    (order,) = partitions.north.handle([home_silent("HB0011", T0)])
    partitions.north.deliver_pending()
    # the order has climbed to the resident's son; north enqueued his ticket, then went down
    partitions.orders.escalate(order.order_id, 2, "contact:HB0011", T0 + 10, from_level=0)
    partitions.north.deliverer.ensure(partitions.orders.get(order.order_id))
    assert partitions.south.deliver_pending() == 1
    son = partitions.channel.delivered[-1]
    assert (son.recipient.worker_id, son.recipient.name, son.recipient.phone) == (
        "contact:HB0011", "Son of HB0011 +86 137 0000 0001", "+86 137 0000 0001")
    assert son.payload["household_id"] == "HB0011" and son.payload["escalation_level"] == 2
    assert [d.abandoned_at for d in partitions.orders.deliveries(order.order_id)] == [None, None]


def test_a_held_alert_is_released_by_its_own_partition_only(partitions: Partitions, clock: ManualClock) -> None:
    assert partitions.south.handle([water_silent("HB0200", T0)]) == []  # held: the storm guard waits
    key = EpisodeKey("HB0200", "no_usage", T0 - 40_000)
    clock.advance_to(T0 + HOLD_S)
    assert partitions.north.review() == []
    tracked = partitions.mutes.tracked(key)
    assert tracked is not None and tracked.fate is AlertFate.HELD
    (order,) = partitions.south.review()
    assert (order.household_id, order.assignee) == ("HB0200", "gw-south")


def test_another_partitions_storm_gets_its_order_from_its_own_partition(
        partitions: Partitions, clock: ManualClock) -> None:
    silent = [h for h, *_ in HOMES if h.startswith("HB020")][:3]
    assert partitions.south.mutes is not None
    for hid in silent:  # south's alerts, tracked as its mute stage does
        assert not partitions.south.mutes.admit(water_silent(hid, T0), city().household_by_id(hid), T0)
    # south's guard opened the storm and went down before the storm's order was opened
    partitions.mutes.open_storm("building", "B020", "no_usage", ("water",), T0 - 40_000, T0, "3 of 4 homes")
    assert partitions.north.review() == []
    assert partitions.orders.list() == [] and len(partitions.mutes.storms()) == 1
    (infra,) = partitions.south.review()
    assert (infra.household_id, infra.assignee) == ("building:B020", "gl-south")
    assert infra.evidence["homes_silent"] == 3 and infra.evidence["homes_total"] == 4
