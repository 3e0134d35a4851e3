"""Storm guard: a building-wide water cut is one infrastructure order, not a welfare visit per home."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from dispatch.channels import RecordingChannel
from dispatch.defaults import MAINTENANCE_GRACE_S
from dispatch.dispatcher import Dispatcher
from dispatch.mutes.muters import AbsenceMuter, OutageMuter
from dispatch.mutes.stage import MuteStage
from dispatch.mutes.store import SqliteMuteStore
from dispatch.mutes.storm import StormGuard, StormSettings
from dispatch.orderstores import SqliteWorkOrderStore
from lifesign.alerts import Alert, AlertState, EpisodeKey, Severity
from lifesign.clock import ManualClock
from lifesign.grid import Address, Household, Meter, Resident, Tier, Utility
from lifesign.registry import Registry
from lifesign.roster import Roster
from lifesign.workorders import ACTIVE, OrderStatus, Outcome

T0 = 1_763_700_000.0
DEADLINES = {Tier.RED: 900.0, Tier.YELLOW: 3600.0, Tier.GREEN: 14_400.0}
HOLD_S = 1800.0
ROSTER = """
workers:
  - {id: gw-a, name: A, role: grid_worker, phone: "+86 138 0000 0001", buildings: [B001, B002]}
  - {id: gw-c, name: C, role: grid_worker, phone: "+86 138 0000 0003", buildings: [B003]}
  - {id: gl-1, name: Leader, role: grid_leader, phone: "+86 138 0000 0009", grids: [G01]}
  - {id: desk, name: Desk, role: duty_desk, phone: "+86 21 0000 0000", communities: [C1]}
  - {id: mt-1, name: Maintenance, role: maintenance, phone: "+86 21 0000 0001", communities: [C1]}
"""
# grid G01: B001 with 6 homes, B002 with 6 homes, B003 with 8 homes (the water cut)
HOMES = [(f"H{b}{i:02d}", b) for b, n in (("B001", 6), ("B002", 6), ("B003", 8)) for i in range(n)]


def registry() -> Registry:
    households = [Household(hid, Address("C1", "G01", b, "1", f"{i:03d}"),
                            Resident(f"Resident {hid}", 80, "+86 139 0000 0000", "Son +86 137 0000 0000"),
                            Tier.YELLOW) for i, (hid, b) in enumerate(HOMES)]
    meters = [Meter(f"{u.value[0]}-{h.household_id}", h.household_id, u, "GW1")
              for h in households for u in (Utility.WATER, Utility.ELECTRICITY)]
    return Registry.from_records(households, meters)


def water_silent(household_id: str, at: float, start: float | None = None) -> Alert:
    start = at - 40_000 if start is None else start
    return Alert(EpisodeKey(household_id, "no_usage", start), AlertState.OPENED, at,
                 {"confirmed_silence_s": at - start, "threshold_s": 36_000.0, "last_usage_water": start},
                 Severity.WARNING, ("water",))


def water_back(household_id: str, start: float, at: float) -> Alert:
    return Alert(EpisodeKey(household_id, "no_usage", start), AlertState.CLEARED, at, {"usage_resumed": at},
                 Severity.WARNING, ("water",))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def make(tmp_path: Path, clock: ManualClock) -> Iterator[Callable[[], Dispatcher]]:
    """A dispatcher over SQLite files; every call is a restart on the same files."""
    opened: list[SqliteWorkOrderStore | SqliteMuteStore] = []
    reg, roster = registry(), Roster.parse(ROSTER)
    channel = RecordingChannel()

    def build() -> Dispatcher:
        orders = SqliteWorkOrderStore(tmp_path / "orders.sqlite")
        mutes = SqliteMuteStore(tmp_path / "mutes.sqlite")
        opened.extend([orders, mutes])
        guard = StormGuard(mutes, reg, StormSettings(hold_s=HOLD_S))
        stage = MuteStage(mutes, [AbsenceMuter(mutes), OutageMuter(mutes)], guard)
        return Dispatcher(orders, reg, roster, [channel], clock, DEADLINES, mutes=stage)

    yield build
    for store in opened:
        store.close()


def mute_store(d: Dispatcher) -> SqliteMuteStore:
    assert d.mutes is not None
    return d.mutes.store


def welfare_orders(d: Dispatcher, building: str) -> list[str]:
    return sorted(o.household_id for o in d.store.list() if o.household_id.endswith(tuple(
        h for h, b in HOMES if b == building)) and not o.household_id.startswith("building:"))


def test_a_building_water_cut_is_one_infrastructure_order_and_a_lone_silent_home_still_gets_its_visit(
    make: Callable[[], Dispatcher], clock: ManualClock
) -> None:
    d = make()
    cut = [h for h, b in HOMES if b == "B003"]
    # the cut's alerts arrive over a quarter of an hour, one home of B001 is silent on its own
    for i, hid in enumerate(cut[:6]):
        clock.advance_to(T0 + i * 150)
        assert d.handle([water_silent(hid, clock.now())]) == [] or i >= 2
    d.handle([water_silent("HB00100", clock.now())])
    clock.advance_to(T0 + HOLD_S + 1000)
    d = make()  # a restart in the middle changes nothing
    d.review()
    d.handle([water_silent(cut[6], clock.now())])  # a late one joins the standing storm

    infra = [o for o in d.store.list() if o.household_id.startswith("building:")]
    assert [(o.household_id, o.assignee) for o in infra] == [("building:B003", "gl-1")]
    assert infra[0].rule == "infrastructure:no_usage:water"
    # opened when half the building (4 of 8, the configured share) had fallen silent
    assert infra[0].evidence["homes_silent"] == 4 and infra[0].evidence["homes_total"] == 8
    assert welfare_orders(d, "B003") == []
    assert welfare_orders(d, "B001") == ["HB00100"]
    muted = {e.household_id for e in mute_store(d).mute_log() if e.action == "muted"}
    assert muted >= set(cut[:7])
    # replaying every alert after another restart opens nothing new
    d = make()
    assert d.handle([water_silent(h, T0 + i * 150) for i, h in enumerate(cut[:6])]) == []
    assert len(d.store.list()) == 2


def test_resolving_the_infrastructure_order_hands_still_silent_homes_over(
    make: Callable[[], Dispatcher], clock: ManualClock
) -> None:
    d = make()
    cut = [h for h, b in HOMES if b == "B003"]
    starts = {h: T0 - 40_000 for h in cut}
    d.handle([water_silent(h, T0, starts[h]) for h in cut[:5]])
    clock.advance_to(T0 + 600)
    (infra,) = [o for o in d.store.list() if o.household_id == "building:B003"]
    # water is back in three homes; two stay silent
    d.handle([water_back(h, starts[h], T0 + 600) for h in cut[:3]])
    assert welfare_orders(d, "B003") == []
    clock.advance_to(T0 + 900)
    d.store.transition(infra.order_id, OrderStatus.ACKNOWLEDGED, d.clock.now(), "gl-1")
    d.store.transition(infra.order_id, OrderStatus.RESOLVED, d.clock.now(), "gl-1", "supply was fine",
                       Outcome.METER_FAULT)
    created = make().review()
    assert sorted(o.household_id for o in created) == sorted(cut[3:5])
    assert make().review() == []  # handed over once, and no new storm from the same homes


def test_when_every_home_comes_back_the_storm_ends_and_nobody_gets_a_visit(
    make: Callable[[], Dispatcher], clock: ManualClock
) -> None:
    d = make()
    cut = [h for h, b in HOMES if b == "B003"][:4]
    d.handle([water_silent(h, T0, T0 - 40_000) for h in cut])
    clock.advance_to(T0 + 1200)
    d.handle([water_back(h, T0 - 40_000, T0 + 1200) for h in cut])
    clock.advance_to(T0 + 10 * HOLD_S)
    assert d.review() == []
    (infra,) = d.store.list()
    assert infra.usage_resumed_at == T0 + 1200 and infra.status in ACTIVE
    assert mute_store(d).storms() == []
    assert welfare_orders(d, "B003") == []


def test_too_few_homes_make_no_storm_and_each_gets_its_visit_after_the_hold(
    make: Callable[[], Dispatcher], clock: ManualClock
) -> None:
    d = make()
    two = [h for h, b in HOMES if b == "B003"][:2]
    assert d.handle([water_silent(h, T0) for h in two]) == []
    clock.advance_to(T0 + HOLD_S - 1)
    assert d.review() == []
    clock.advance_to(T0 + HOLD_S)
    assert sorted(o.household_id for o in d.review()) == sorted(two)
    assert not [o for o in d.store.list() if ":" in o.household_id]


def test_an_all_utilities_silence_is_never_held_nor_muted_by_a_storm(
    make: Callable[[], Dispatcher], clock: ManualClock
) -> None:
    d = make()
    cut = [h for h, b in HOMES if b == "B003"]
    d.handle([water_silent(h, T0) for h in cut[:6]])
    assert [o.household_id for o in d.store.list()] == ["building:B003"]
    critical = Alert(EpisodeKey(cut[7], "no_usage", T0 - 50_000), AlertState.OPENED, T0,
                     {"confirmed_silence_s": 50_000.0}, Severity.CRITICAL, ("electricity", "water"))
    (order,) = d.handle([critical])
    assert order.household_id == cut[7] and order.assignee == "gw-c"


def test_a_grid_wide_cut_is_one_grid_order(make: Callable[[], Dispatcher], clock: ManualClock) -> None:
    d = make()
    d.handle([water_silent(h, T0) for h, _ in HOMES[::2]])  # half of every building
    infra = [o.household_id for o in d.store.list()]
    assert infra == ["grid:G01"]


def test_meter_offline_storms_go_to_maintenance(make: Callable[[], Dispatcher], clock: ManualClock) -> None:
    d = make()
    cut = [h for h, b in HOMES if b == "B001"]
    assert d.handle([Alert(EpisodeKey(h, "meter_offline", T0 - 7200), AlertState.OPENED, T0, {},
                           Severity.WARNING, ("electricity", "water")) for h in cut]) == []
    # a meter fault counts towards a storm only once it outlasted the maintenance grace
    clock.advance_to(T0 + MAINTENANCE_GRACE_S - 1)
    assert d.review() == []
    clock.advance_to(T0 + MAINTENANCE_GRACE_S)
    (infra,) = d.review()
    assert (infra.household_id, infra.assignee) == ("building:B001", "mt-1")
    assert infra.rule == "infrastructure:meter_offline:electricity+water"


def test_a_held_water_silence_that_spreads_to_every_utility_goes_at_once(
    make: Callable[[], Dispatcher], clock: ManualClock
) -> None:
    d = make()
    first = water_silent("HB00100", T0)
    assert d.handle([first]) == []
    clock.advance_to(T0 + 300)
    worse = Alert(first.key, AlertState.OPENED, T0 + 300, dict(first.evidence), Severity.CRITICAL,
                  ("electricity", "water"))
    (order,) = d.handle([worse])
    assert (order.household_id, order.tier) == ("HB00100", "yellow")


def test_a_meter_fault_becomes_an_order_only_if_it_outlasts_the_grace_across_a_restart(
    make: Callable[[], Dispatcher], clock: ManualClock
) -> None:
    d = make()
    stuck = Alert(EpisodeKey("HB00100", "meter_stuck", T0 - 7200), AlertState.OPENED, T0, {},
                  Severity.WARNING, ("water",))
    brief = Alert(EpisodeKey("HB00101", "meter_stuck", T0 - 3600), AlertState.OPENED, T0, {},
                  Severity.WARNING, ("water",))
    assert d.handle([stuck, brief]) == []
    clock.advance_to(T0 + 60)
    # back within the grace (e.g. a gateway's backlog arrived): withdrawn, never an order
    assert d.handle([Alert(brief.key, AlertState.CLEARED, T0 + 60, {"varies_again": T0 + 50},
                           Severity.WARNING, ("water",))]) == []
    clock.advance_to(T0 + MAINTENANCE_GRACE_S - 1)
    d = make()  # the grace is in the mute store: a restart neither forgets nor restarts it
    assert d.review() == []
    clock.advance_to(T0 + MAINTENANCE_GRACE_S)
    (order,) = make().review()
    assert (order.household_id, order.rule, order.assignee) == ("HB00100", "meter_stuck", "mt-1")
    assert [(e.household_id, e.action) for e in mute_store(d).mute_log() if e.household_id == "HB00101"] == [
        ("HB00101", "held"), ("HB00101", "withdrawn")]
    assert make().review() == [] and len(d.store.list()) == 1
