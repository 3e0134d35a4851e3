"""Absences and planned outages mute only within their window, and what they muted comes back."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from dispatch.absences import OutageScope
from dispatch.channels import RecordingChannel
from dispatch.dispatcher import Dispatcher
from dispatch.mutes.muters import AbsenceMuter, OutageMuter
from dispatch.mutes.stage import MuteStage
from dispatch.mutes.store import SqliteMuteStore
from dispatch.orderstores import SqliteWorkOrderStore
from lifesign.alerts import Alert, AlertState, EpisodeKey, Severity
from lifesign.clock import ManualClock
from lifesign.grid import Tier
from lifesign.registry import Registry
from lifesign.roster import Roster

T0 = 1_763_700_000.0
DEADLINES = {Tier.RED: 900.0, Tier.YELLOW: 3600.0, Tier.GREEN: 14_400.0}
START, END = T0 + 3600.0, T0 + 3 * 86400.0
EPS = 0.001


def silent(household_id: str, at: float, utilities: tuple[str, ...] = ("electricity", "water"),
           severity: Severity = Severity.CRITICAL) -> Alert:
    return Alert(EpisodeKey(household_id, "no_usage", at - 50_000), AlertState.OPENED, at,
                 {"confirmed_silence_s": 50_000.0, "threshold_s": 43_200.0}, severity, utilities)


@pytest.fixture
def files(tmp_path: Path) -> Iterator[Callable[[], tuple[SqliteWorkOrderStore, SqliteMuteStore]]]:
    opened: list[SqliteWorkOrderStore | SqliteMuteStore] = []

    def open_files() -> tuple[SqliteWorkOrderStore, SqliteMuteStore]:
        pair = SqliteWorkOrderStore(tmp_path / "orders.sqlite"), SqliteMuteStore(tmp_path / "mutes.sqlite")
        opened.extend(pair)
        return pair

    yield open_files
    for store in opened:
        store.close()


@pytest.fixture
def make(files: Callable[[], tuple[SqliteWorkOrderStore, SqliteMuteStore]], registry: Registry,
         roster: Roster, clock: ManualClock) -> Callable[[], Dispatcher]:
    def build() -> Dispatcher:
        orders, mutes = files()
        stage = MuteStage(mutes, [AbsenceMuter(mutes), OutageMuter(mutes)])
        return Dispatcher(orders, registry, roster, [RecordingChannel()], clock, DEADLINES, mutes=stage)
    return build


@pytest.mark.parametrize(("at", "muted"), [
    (START - EPS, False), (START, True), (END - EPS, True), (END, False),
], ids=["start-eps", "start", "end-eps", "end"])
def test_an_absence_suppresses_orders_only_within_its_window(
    make: Callable[[], Dispatcher], clock: ManualClock, at: float, muted: bool
) -> None:
    d = make()
    assert d.mutes is not None
    d.mutes.store.add_absence("H0001", START, END, "in hospital", "desk-c1", T0)
    clock.advance_to(at)
    created = d.handle([silent("H0001", at)])
    assert [o.household_id for o in created] == ([] if muted else ["H0001"])
    # another household is never muted by H0001's absence
    assert [o.household_id for o in d.handle([silent("H0002", at)])] == ["H0002"]
    log = [(e.household_id, e.action) for e in d.mutes.store.mute_log()]
    assert log == ([("H0001", "muted")] if muted else [])


def test_an_absence_that_ends_while_the_home_is_still_silent_yields_the_order_then(
    make: Callable[[], Dispatcher], clock: ManualClock
) -> None:
    d = make()
    assert d.mutes is not None
    d.mutes.store.add_absence("H0001", START, END, "visiting family", "gw-zhang", T0)
    clock.advance_to(START + 600)
    assert d.handle([silent("H0001", START + 600)]) == []
    clock.advance_to(END - EPS)
    assert make().review() == []
    clock.advance_to(END)
    (order,) = make().review()  # after a restart: the held alert is in the store, not in memory
    assert order.household_id == "H0001" and order.opened_at == END
    assert make().review() == []
    assert [e.action for e in d.mutes.store.mute_log()] == ["muted", "released"]


def test_ending_an_absence_early_releases_at_once(make: Callable[[], Dispatcher], clock: ManualClock) -> None:
    d = make()
    assert d.mutes is not None
    absence = d.mutes.store.add_absence("H0001", START, END, "travel", "cli", T0)
    clock.advance_to(START + 60)
    assert d.handle([silent("H0001", START + 60)]) == []
    clock.advance_to(START + 7200)
    ended = d.mutes.store.end_absence(absence.absence_id, clock.now())
    assert ended.effective_end == START + 7200 and not ended.covers(START + 7200)
    assert [o.household_id for o in d.review()] == ["H0001"]


def test_a_cleared_muted_alert_never_becomes_an_order(make: Callable[[], Dispatcher], clock: ManualClock) -> None:
    d = make()
    assert d.mutes is not None
    d.mutes.store.add_absence("H0001", START, END, "travel", "cli", T0)
    clock.advance_to(START)
    alert = silent("H0001", START)
    d.handle([alert])
    d.handle([Alert(alert.key, AlertState.CLEARED, START + 60, {"usage_resumed": START + 60})])
    clock.advance_to(END + 1)
    assert d.review() == [] and d.store.list() == []


def test_a_planned_water_cut_mutes_water_silence_in_its_building_only(
    make: Callable[[], Dispatcher], clock: ManualClock
) -> None:
    d = make()
    assert d.mutes is not None
    d.mutes.store.add_outage(OutageScope.BUILDING, "B001", ("water",), START, END, "pipe works", "cli", T0)
    clock.advance_to(START)
    water_only = silent("H0001", START, ("water",), Severity.WARNING)
    everything = silent("H0002", START)  # B002: not in the cut
    assert [o.household_id for o in d.handle([water_only, everything])] == ["H0002"]
    # an all-utilities silence inside the cut is not explained by it
    d2 = make()
    whole = Alert(EpisodeKey("H0001", "no_usage", START - 1), AlertState.OPENED, START, {},
                  Severity.CRITICAL, ("electricity", "water"))
    assert [o.household_id for o in d2.handle([whole])] == ["H0001"]


def test_a_grid_power_outage_mutes_meter_offline_until_it_ends(
    make: Callable[[], Dispatcher], clock: ManualClock
) -> None:
    d = make()
    assert d.mutes is not None
    d.mutes.store.add_outage(OutageScope.GRID, "G01", ("electricity", "water"), START, END, "grid works",
                             "cli", T0)
    clock.advance_to(START + 1)
    offline = Alert(EpisodeKey("H0002", "meter_offline", START), AlertState.OPENED, START + 1, {},
                    Severity.WARNING, ("electricity",))
    assert d.handle([offline]) == []
    clock.advance_to(END)
    (order,) = d.review()
    assert order.rule == "meter_offline"


def test_bad_windows_are_refused(files: Callable[[], tuple[SqliteWorkOrderStore, SqliteMuteStore]]) -> None:
    _, mutes = files()
    with pytest.raises(ValueError, match="must end after it starts"):
        mutes.add_absence("H0001", END, START, "x", "cli", T0)
    with pytest.raises(ValueError, match="must name the utilities"):
        mutes.add_outage(OutageScope.GRID, "G01", (), START, END, "x", "cli", T0)
    with pytest.raises(LookupError, match="No absence by the id of 7"):
        mutes.end_absence(7, T0)
