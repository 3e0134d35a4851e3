"""Absences and planned outages made and ended at the desk (forms and API alike), within
the staff member's area and recorded with who they are."""

from __future__ import annotations

from fastapi import HTTPException

from app.web.desk import Desk
from app.web.staff import StaffAccount
from app.web.views import household_sees, outage_sees
from dispatch.absences import Absence, Outage, OutageScope
from dispatch.actions import Actor, ActorKind


def _by(account: StaffAccount) -> str:
    return str(Actor(ActorKind.STAFF, account.name))


def add_absence(desk: Desk, account: StaffAccount, household_id: str, start: float, end: float,
                reason: str) -> Absence:
    if not household_sees(desk, account, household_id):
        raise HTTPException(403, f"household {household_id!r} is not registered in your area")
    if not reason.strip():
        raise HTTPException(400, "an absence needs its reason")
    try:
        return desk.mutes.add_absence(household_id, start, end, reason.strip(), _by(account), desk.clock.now())
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None


def add_outage(desk: Desk, account: StaffAccount, scope: OutageScope, area: str, utilities: tuple[str, ...],
               start: float, end: float, reason: str) -> Outage:
    if not outage_sees(desk, account, Outage(0, scope, area, utilities, start, end, "")):
        raise HTTPException(403, f"{scope.value} {area!r} has no registered home in your area")
    try:
        return desk.mutes.add_outage(scope, area, utilities, start, end, reason.strip() or "-", _by(account),
                                     desk.clock.now())
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None


def end_absence(desk: Desk, account: StaffAccount, absence_id: int) -> Absence:
    found = [a for a in desk.mutes.absences() if a.absence_id == absence_id]
    if not found or not household_sees(desk, account, found[0].household_id):
        raise HTTPException(404, f"no absence {absence_id} in your area")
    return desk.mutes.end_absence(absence_id, desk.clock.now())


def end_outage(desk: Desk, account: StaffAccount, outage_id: int) -> Outage:
    found = [o for o in desk.mutes.outages() if o.outage_id == outage_id]
    if not found or not outage_sees(desk, account, found[0]):
        raise HTTPException(404, f"no outage {outage_id} in your area")
    return desk.mutes.end_outage(outage_id, desk.clock.now())


__all__ = ["add_absence", "add_outage", "end_absence", "end_outage"]
