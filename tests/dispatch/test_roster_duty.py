"""Shifts, leave and backups decide who answers; a bad roster is refused with file, line and field."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from dispatch.channels import RecordingChannel
from dispatch.dispatcher import Dispatcher
from dispatch.escalation import escalation_chain, responsible_for
from dispatch.orderstores import MemoryWorkOrderStore
from lifesign.alerts import Alert, AlertState, EpisodeKey
from lifesign.clock import ManualClock
from lifesign.config.errors import ConfigError
from lifesign.grid import Address, Household, Meter, Resident, Tier, Utility
from lifesign.registry import Registry
from lifesign.roster import Roster

LOCAL = timezone(timedelta(hours=8))
ROSTER = """
utc_offset_hours: 8
workers:
  - id: gw-day
    name: Day worker
    role: grid_worker
    phone: "+86 138 0000 0001"
    buildings: [B001]
    backup: gw-night
    shifts:
      - {days: [mon, tue, wed, thu, fri], from: "08:00", to: "20:00"}
    leave:
      - {from: "2026-11-23", to: "2026-11-24", reason: annual leave}
  - id: gw-night
    name: Night worker
    role: grid_worker
    phone: "+86 138 0000 0002"
    buildings: [B002]
    backup: gl-li
    shifts:
      - {days: [mon, tue, wed, thu, fri, sat, sun], from: "20:00", to: "08:00"}
  - {id: gl-li, name: Li Na, role: grid_leader, phone: "+86 138 0000 0003", grids: [G01]}
  - {id: desk, name: Desk, role: duty_desk, phone: "+86 21 0000 0000", communities: [C1]}
"""
HOME = Household("H1", Address("C1", "G01", "B001", "1", "101"), Resident("W", 80, "1", "Son"), Tier.RED)


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=LOCAL).timestamp()


@pytest.mark.parametrize(("when", "answering"), [
    ("2026-11-20 08:00", "gw-day"),     # Friday, first minute of the day shift
    ("2026-11-20 19:59", "gw-day"),
    ("2026-11-20 20:00", "gw-night"),   # the backup's night shift
    ("2026-11-21 10:00", "gl-li"),      # Saturday day: nobody's shift, the backup's backup
    ("2026-11-23 10:00", "gl-li"),      # Monday, gw-day on leave, gw-night off by day
    ("2026-11-23 21:00", "gw-night"),   # Monday night, gw-day still on leave
], ids=["start", "end-eps", "night", "weekend", "leave-day", "leave-night"])
def test_the_first_on_duty_down_the_backup_line_answers(when: str, answering: str) -> None:
    roster = Roster.parse(ROSTER)
    assert responsible_for(roster, HOME, at(when)).worker_id == answering


def test_leave_covers_whole_days_inclusive() -> None:
    roster = Roster.parse(ROSTER)
    assert roster.on_duty("gw-day", at("2026-11-22 23:59")) is False  # Sunday: no shift
    assert roster.on_duty("gw-day", at("2026-11-24 19:00")) is False  # last day of leave
    assert roster.on_duty("gw-day", at("2026-11-25 08:00")) is True


def _escalating_dispatcher(opened_at: str) -> tuple[Dispatcher, ManualClock]:
    meters = [Meter(f"{u.value[0].upper()}-H1", "H1", u, "GW1") for u in (Utility.WATER, Utility.ELECTRICITY)]
    clock = ManualClock(at(opened_at))
    deadlines = {Tier.RED: 900.0, Tier.YELLOW: 3600.0, Tier.GREEN: 14_400.0}
    dispatcher = Dispatcher(MemoryWorkOrderStore(), Registry.from_records([HOME], meters), Roster.parse(ROSTER),
                            [RecordingChannel()], clock, deadlines, emergency_contact_step=False)
    start = clock.now() - 40_000
    dispatcher.handle([Alert(EpisodeKey("H1", "no_usage", start), AlertState.OPENED, clock.now(),
                             {"confirmed_silence_s": 40_000.0, "threshold_s": 36_000.0})])
    return dispatcher, clock


def _holders(dispatcher: Dispatcher, clock: ManualClock, minutes: list[float]) -> list[str]:
    (order,) = dispatcher.store.list()
    holders = [order.assignee]
    for m in minutes:
        clock.advance_to(clock.now() + m * 60)
        dispatcher.escalate_due()
        holders.append(dispatcher.store.get(order.order_id).assignee)
    return holders


def test_a_backup_who_is_the_next_level_answers_once() -> None:
    # Saturday day: the grid leader stands in for the grid worker and is the next level too
    roster = Roster.parse(ROSTER)
    chain = [w.worker_id for w in escalation_chain(roster, HOME, at("2026-11-21 10:00"))]
    assert chain == ["gl-li", "gl-li", "desk"]
    assert [w.worker_id for w in escalation_chain(roster, HOME)] == ["gw-day", "gl-li", "desk"]  # no time: no shifts
    dispatcher, clock = _escalating_dispatcher("2026-11-21 10:00")
    assert _holders(dispatcher, clock, [16, 16]) == ["gl-li", "desk", "desk"]  # not gl-li twice
    (order,) = dispatcher.store.list()
    assert order.escalation_level == 2


def test_escalation_across_a_shift_change_skips_no_level() -> None:
    # Saturday 07:50 the night worker holds it; at 08:05 the night shift has ended and the
    # grid worker's line folds into the grid leader: the order must reach the grid leader,
    # not jump past them to the duty desk.
    dispatcher, clock = _escalating_dispatcher("2026-11-21 07:50")
    assert _holders(dispatcher, clock, [15, 15]) == ["gw-night", "gl-li", "desk"]
    levels = [e.note.split(":")[0] for e in dispatcher.store.ledger() if e.action == "escalated"]
    assert levels == ["level 1", "level 2"]


@pytest.mark.parametrize(("edit", "message"), [
    (("backup: gw-night", "backup: gw-nobody"),
     "roster.yaml:9: workers[0].backup must be the id of a worker in this roster, got 'gw-nobody'"),
    (("backup: gw-night", "backup: gw-day"),
     "roster.yaml:9: workers[0].backup must name another worker, got 'gw-day' itself"),
    (('from: "08:00"', 'from: "8h"'), "roster.yaml:11: workers[0].shifts[0].from must be a time of day HH:MM, got '8h'"),
    (("days: [mon, tue,", "days: [mon, tues,"),
     ("roster.yaml:11: workers[0].shifts[0].days[1] must be one of mon, tue, wed, thu, fri, sat, sun, "
      "got 'tues' (did you mean 'tue'?)")),
    (('to: "2026-11-24"', 'to: "2026-11-20"'),
     "roster.yaml:13: workers[0].leave[0] must end after it starts, got from '2026-11-23' to '2026-11-20'"),
])
def test_bad_duty_entries_are_refused_naming_file_line_and_field(edit: tuple[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Roster.parse(ROSTER.replace(*edit, 1), "roster.yaml")
    assert str(caught.value) == message


def test_a_worker_who_stood_in_below_is_not_asked_again_above() -> None:
    # the duty desk stands in for the grid worker (both off) and is also the level above the
    # grid leader: after the leader the order goes on to the emergency contact
    roster = Roster.parse(ROSTER.replace("backup: gl-li", "backup: desk"))
    meters = [Meter("W-H1", "H1", Utility.WATER, "GW1")]
    clock = ManualClock(at("2026-11-21 10:00"))  # Saturday day: gw-day and gw-night are off
    dispatcher = Dispatcher(MemoryWorkOrderStore(), Registry.from_records([HOME], meters), roster,
                            [RecordingChannel()], clock, {Tier.RED: 900.0, Tier.YELLOW: 3600.0, Tier.GREEN: 14_400.0})
    assert [w.worker_id for w in dispatcher.assigner.chain("H1", "no_usage", clock.now())] == [
        "desk", "gl-li", "desk", "contact:H1"]
    dispatcher.handle([Alert(EpisodeKey("H1", "no_usage", clock.now() - 40_000), AlertState.OPENED, clock.now(),
                             {"confirmed_silence_s": 40_000.0, "threshold_s": 36_000.0})])
    assert _holders(dispatcher, clock, [16, 16, 16]) == ["desk", "gl-li", "contact:H1", "contact:H1"]
