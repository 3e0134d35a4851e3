"""Shifts, leave and backups decide who answers; a bad roster is refused with file, line and field."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from lifesign.config.errors import ConfigError
from lifesign.grid import Address, Household, Resident, Tier
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
    assert roster.responsible_for(HOME, at(when)).worker_id == answering


def test_leave_covers_whole_days_inclusive() -> None:
    roster = Roster.parse(ROSTER)
    assert roster.on_duty("gw-day", at("2026-11-22 23:59")) is False  # Sunday: no shift
    assert roster.on_duty("gw-day", at("2026-11-24 19:00")) is False  # last day of leave
    assert roster.on_duty("gw-day", at("2026-11-25 08:00")) is True


def test_a_backup_who_is_the_next_level_answers_once() -> None:
    roster = Roster.parse(ROSTER)
    chain = [w.worker_id for w in roster.escalation_chain(HOME, at("2026-11-21 10:00"))]
    assert chain == ["gl-li", "desk"]
    assert [w.worker_id for w in roster.escalation_chain(HOME)] == ["gw-day", "gl-li", "desk"]  # no time: no shifts


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
