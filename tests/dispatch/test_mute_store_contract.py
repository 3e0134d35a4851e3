"""One contract every mute store passes (SQLite and PostgreSQL alike): absences,
outages, the alerts the mute stage holds, storms, the append-only mute log, and a
version that tells muters on any instance when to read again. The stores come from
``mute_store_factory`` (conftest.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from dispatch.absences import OutageScope
from dispatch.mutes.base import MuteStore
from dispatch.mutes.records import AlertFate, MuteLogEntry, TrackedAlert
from lifesign.alerts import EpisodeKey

T0 = 1_763_700_000.0
KEY = EpisodeKey("H0001", "no_usage", T0 - 50_000.0)


def _alert(key: EpisodeKey = KEY, fate: AlertFate = AlertFate.HELD, building: str = "B001",
           utilities: tuple[str, ...] = ("water",), first_seen: float = T0) -> TrackedAlert:
    return TrackedAlert(key, "warning", utilities, building, "G01", "C1", T0, first_seen, fate, "group wait",
                        {"confirmed_silence_s": 46_800.0})


def test_absences_are_kept_ended_and_filtered(mutes: MuteStore) -> None:
    away = mutes.add_absence("H0001", T0, T0 + 86_400, "hospital", "desk", T0 - 10)
    other = mutes.add_absence("H0002", T0, T0 + 3600, "travel", "desk", T0 - 5)
    assert (away.absence_id, away.household_id, away.start, away.end, away.reason, away.created_by,
            away.created_at, away.ended_at) == (away.absence_id, "H0001", T0, T0 + 86_400, "hospital",
                                                "desk", T0 - 10, None)
    assert mutes.absences() == [away, other]
    assert mutes.absences("H0002") == [other]
    assert mutes.absences(active_at=T0 + 7200) == [away]
    ended = mutes.end_absence(away.absence_id, T0 + 100)
    assert ended.ended_at == T0 + 100
    assert mutes.end_absence(away.absence_id, T0 + 200).ended_at == T0 + 100  # ending twice keeps the first
    assert mutes.absences(active_at=T0 + 150) == [other]


def test_bad_windows_and_unknown_ids_are_refused(mutes: MuteStore) -> None:
    with pytest.raises(ValueError, match="an absence must end after it starts"):
        mutes.add_absence("H0001", T0, T0, "x", "desk", T0)
    with pytest.raises(ValueError, match="an outage must name the utilities"):
        mutes.add_outage(OutageScope.BUILDING, "B001", (), T0, T0 + 1, "x", "desk", T0)
    with pytest.raises(LookupError, match="No absence by the id of 404 was found"):
        mutes.end_absence(404, T0)
    with pytest.raises(LookupError, match="No outage by the id of 404 was found"):
        mutes.end_outage(404, T0)


def test_outages_keep_sorted_utilities_and_end(mutes: MuteStore) -> None:
    cut = mutes.add_outage(OutageScope.GRID, "G01", ("water", "electricity", "water"), T0, T0 + 3600,
                           "mains repair", "desk", T0 - 1)
    assert (cut.scope, cut.area, cut.utilities) == (OutageScope.GRID, "G01", ("electricity", "water"))
    assert mutes.outages() == [cut]
    assert mutes.outages(active_at=T0 + 10) == [cut]
    assert mutes.end_outage(cut.outage_id, T0 + 5).ended_at == T0 + 5
    assert mutes.outages(active_at=T0 + 10) == []


def test_an_alert_is_tracked_once_and_a_held_one_is_logged(mutes: MuteStore) -> None:
    assert mutes.tracked(KEY) is None
    stored, created = mutes.track(_alert(), T0)
    assert created is True and stored == _alert()
    again, created = mutes.track(_alert(fate=AlertFate.ORDERED), T0 + 5)
    assert (again, created) == (_alert(), False)
    assert mutes.tracked(KEY) == _alert()
    assert mutes.mute_log() == [MuteLogEntry(T0, "H0001", "no_usage", KEY.episode_start, "held", "group wait")]
    mutes.track(_alert(EpisodeKey("H0002", "no_usage", T0), fate=AlertFate.ORDERED), T0)
    assert len(mutes.mute_log()) == 1  # an alert that went straight to an order is not a mute decision


def test_set_fate_logs_only_changes(mutes: MuteStore) -> None:
    mutes.track(_alert(), T0)
    assert mutes.set_fate(KEY, AlertFate.MUTED, "absence #1", T0 + 1) is True
    assert mutes.set_fate(KEY, AlertFate.MUTED, "absence #1", T0 + 2) is False
    assert mutes.set_fate(KEY, AlertFate.ORDERED, "absence ended", T0 + 3, action="released") is True
    assert mutes.set_fate(KEY, AlertFate.CLEARED, "", T0 + 4, log=False) is True
    assert mutes.set_fate(EpisodeKey("H0404", "no_usage", T0), AlertFate.MUTED, "x", T0) is False
    assert [(e.at, e.action, e.note) for e in mutes.mute_log()] == [
        (T0, "held", "group wait"), (T0 + 1, "muted", "absence #1"), (T0 + 3, "released", "absence ended")]
    assert mutes.mute_log(since=T0 + 1, until=T0 + 3) == mutes.mute_log()[1:2]


def test_update_alert_and_the_waiting_list(mutes: MuteStore) -> None:
    mutes.track(_alert(), T0)
    mutes.track(_alert(EpisodeKey("H0002", "no_usage", T0), fate=AlertFate.MUTED, first_seen=T0 - 1), T0)
    mutes.track(_alert(EpisodeKey("H0003", "no_usage", T0), fate=AlertFate.ORDERED), T0)
    mutes.update_alert(KEY, "critical", ("electricity", "water"), T0 + 60, {"confirmed_silence_s": 50_000.0})
    updated = mutes.tracked(KEY)
    assert updated is not None
    assert (updated.severity, updated.utilities, updated.alert_at, updated.evidence) == (
        "critical", ("electricity", "water"), T0 + 60, {"confirmed_silence_s": 50_000.0})
    assert [a.key.household_id for a in mutes.waiting()] == ["H0002", "H0001"]


def test_open_in_and_candidates_count_alerts_not_cleared(mutes: MuteStore) -> None:
    for i, fate in enumerate([AlertFate.HELD, AlertFate.HELD, AlertFate.ORDERED, AlertFate.CLEARED]):
        mutes.track(_alert(EpisodeKey(f"H000{i}", "no_usage", T0), fate=fate), T0)
    mutes.track(_alert(EpisodeKey("H0009", "no_usage", T0), building="B002"), T0)
    mutes.track(_alert(EpisodeKey("H0008", "no_usage", T0), first_seen=T0 - 7200), T0)
    assert sorted(a.key.household_id for a in mutes.open_in("building", "B001", "no_usage", ("water",),
                                                             T0 - 60)) == ["H0000", "H0001", "H0002"]
    assert len(mutes.open_in("grid", "G01", "no_usage", ("water",), T0 - 60)) == 4
    assert mutes.open_in("building", "B001", "no_usage", ("electricity",), T0 - 60) == []
    assert sorted(mutes.candidates(T0 - 60)) == [("B001", "G01", "no_usage", "water", 3),
                                                 ("B002", "G01", "no_usage", "water", 1)]


def test_one_standing_storm_per_signature_and_its_log(mutes: MuteStore) -> None:
    storm, created = mutes.open_storm("building", "B001", "no_usage", ("water",), T0 - 3600, T0, "4 of 6 homes")
    assert created is True and storm.ended_at is None
    again, created = mutes.open_storm("building", "B001", "no_usage", ("water",), T0 - 1800, T0 + 5, "x")
    assert (again, created) == (storm, False)
    other, created = mutes.open_storm("grid", "G01", "no_usage", ("water",), T0 - 3600, T0, "grid")
    assert created is True
    assert mutes.storms() == [storm, other]
    assert mutes.last_storm_end("building", "B001", "no_usage", ("water",)) is None
    assert mutes.end_storm(storm.storm_id, T0 + 600, "homes resumed") is True
    assert mutes.end_storm(storm.storm_id, T0 + 700, "again") is False
    assert mutes.storms() == [other]
    assert [s.storm_id for s in mutes.storms(standing_only=False)] == [storm.storm_id, other.storm_id]
    assert mutes.last_storm_end("building", "B001", "no_usage", ("water",)) == T0 + 600
    assert [(e.household_id, e.rule, e.action, e.note) for e in mutes.mute_log()] == [
        ("building:B001", "infrastructure:no_usage:water", "storm opened", "4 of 6 homes"),
        ("grid:G01", "infrastructure:no_usage:water", "storm opened", "grid"),
        ("building:B001", "infrastructure:no_usage:water", "storm ended", "homes resumed"),
    ]
    reopened, created = mutes.open_storm("building", "B001", "no_usage", ("water",), T0 + 900, T0 + 900, "back")
    assert created is True and reopened.storm_id != storm.storm_id


def test_version_changes_when_another_writer_adds_an_absence_outage_or_storm(
    mute_store_factory: Callable[[], MuteStore],
) -> None:
    service, cli = mute_store_factory(), mute_store_factory()
    seen = service.version()
    assert service.version() == seen
    cli.add_absence("H0001", T0, T0 + 3600, "travel", "desk", T0)
    assert service.version() != seen
    seen = service.version()
    cli.add_outage(OutageScope.BUILDING, "B001", ("water",), T0, T0 + 3600, "repair", "desk", T0)
    assert service.version() != seen
    seen = service.version()
    cli.open_storm("building", "B001", "no_usage", ("water",), T0, T0, "storm")
    assert service.version() != seen


def test_everything_survives_reopening(mute_store_factory: Callable[[], MuteStore]) -> None:
    first = mute_store_factory()
    first.add_absence("H0001", T0, T0 + 3600, "travel", "desk", T0)
    first.add_outage(OutageScope.COMMUNITY, "C1", ("gas",), T0, T0 + 3600, "works", "desk", T0)
    first.track(_alert(), T0)
    first.open_storm("building", "B001", "no_usage", ("water",), T0, T0, "storm")
    again = mute_store_factory()
    assert (again.absences(), again.outages(), again.tracked(KEY), again.storms(), again.mute_log()) == (
        first.absences(), first.outages(), first.tracked(KEY), first.storms(), first.mute_log())
