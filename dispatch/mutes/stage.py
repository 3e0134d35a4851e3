"""The mute stage: the first link of the dispatch chain.

Every new alert is remembered with its fate: ``ordered`` (straight on to dedup and
assign), ``held`` (the storm guard waits ``hold_s`` to see whether its neighbours fall
silent too; a maintenance alert waits out its grace, :mod:`dispatch.mutes.grace`) or
``muted`` (a muter gave a reason). Held and muted alerts are asked
again at every review; the first review that finds no reason releases them to become
orders, so an absence that ends while the home is still silent yields the order then.
Every hold, mute, release and clear is written to the append-only mute log (a
maintenance alert cleared within its grace as ``withdrawn``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from dispatch.mutes.base import MuteStore
from dispatch.mutes.grace import MaintenanceGrace
from dispatch.mutes.muters import Muter, StormMuter
from dispatch.mutes.records import WAITING, AlertFate, TrackedAlert
from dispatch.mutes.storm import StormGuard
from dispatch.pipeline import Case, Round
from lifesign.alerts import Alert, AlertState, EpisodeKey, Severity
from lifesign.grid import Household


class MuteStage:
    """The first stage: new alerts go on, or wait here (held or muted); cleared ones are
    noted and go on to close their orders. :class:`~dispatch.mutes.review.ReleaseStage`
    lets the waiting ones go once their reason has gone."""

    def __init__(self, store: MuteStore, muters: Sequence[Muter], guard: StormGuard | None = None,
                 grace: MaintenanceGrace | None = None) -> None:
        """``grace``: by default the storm guard's (which counts no alert within it), else the
        default; given with a guard, it must be the guard's."""
        if grace is None:
            grace = guard.grace if guard is not None else MaintenanceGrace()
        elif guard is not None and grace != guard.grace:
            raise ValueError(f"the mute stage's {grace} differs from the storm guard's {guard.grace}")
        self.store = store
        self.guard = guard
        self.grace = grace
        self.muters = list(muters) + ([StormMuter(guard)] if guard is not None else [])

    def reason(self, alert: TrackedAlert, now: float) -> str:
        for muter in self.muters:
            why = muter.mutes(alert, now)
            if why:
                return f"{muter.name}: {why}"
        return ""

    def _holds(self, alert: TrackedAlert, now: float) -> bool:
        # a maintenance alert never becomes an order within its grace, whatever waited it;
        # otherwise only a held alert waits out the hold: a muted one whose reason ended goes at once
        if self.grace.waiting(alert, now):
            return True
        return (alert.fate is AlertFate.HELD and self.guard is not None and self.guard.eligible(alert)
                and now < alert.first_seen + self.guard.settings.hold_s)

    def exec(self, ctx: Round, cases: list[Case]) -> list[Case]:
        onward = []
        for case in cases:
            if case.alert.state is AlertState.CLEARED:
                self.cleared(case.alert.key, ctx.now)
                onward.append(case)
            elif case.household is not None and self.admit(case.alert, case.household, ctx.now):
                onward.append(case)
        return onward

    def admit(self, alert: Alert, household: Household, now: float) -> bool:
        """Remember the alert; True when it goes straight on to become an order."""
        severity = getattr(alert.severity, "value", str(alert.severity))
        utilities = tuple(sorted(alert.utilities))
        known = self.store.tracked(alert.key)
        if known is not None:
            if known.fate in WAITING and (known.severity, known.utilities) != (severity, utilities):
                self.store.update_alert(alert.key, severity, utilities, alert.at, dict(alert.evidence))
            return known.fate is AlertFate.ORDERED  # re-handed, e.g. after its order was resolved
        a = household.address
        candidate = TrackedAlert(alert.key, severity, utilities, a.building, a.grid, a.community,
                                 alert.at, now, AlertFate.HELD, "", dict(alert.evidence))
        why = self.reason(candidate, now)
        if why:
            candidate = replace(candidate, fate=AlertFate.MUTED, reason=why)
        elif self.guard is not None and self.guard.eligible(candidate):
            # even with hold_s = 0 it waits for this batch's review, which looks for storms first
            hold_s = self.guard.settings.hold_s
            why = f"storm guard: waiting {hold_s / 60:g} min for other homes of building {a.building}"
            if self.grace.applies(candidate) and self.grace.grace_s > hold_s:
                why += f"; {self.grace.describe()}"
            candidate = replace(candidate, reason=why)
        elif self.grace.applies(candidate):
            candidate = replace(candidate, reason=self.grace.describe())
        else:
            candidate = replace(candidate, fate=AlertFate.ORDERED)
        stored, _ = self.store.track(candidate, now)
        return stored.fate is AlertFate.ORDERED

    def releasable(self, now: float, watched: Callable[[TrackedAlert], bool] = lambda _: True
                   ) -> list[tuple[TrackedAlert, Alert]]:
        """Waiting alerts whose reason has gone (now marked ordered), as alerts to open;
        only ``watched`` ones (another partition's are its instance's to release)."""
        released = []
        for tracked in filter(watched, self.store.waiting()):
            why = self.reason(tracked, now)
            if why:
                self.store.set_fate(tracked.key, AlertFate.MUTED, why, now)
                continue
            if self._holds(tracked, now):
                continue
            note = f"released ({tracked.reason or 'no reason left'} no longer holds)"
            self.store.set_fate(tracked.key, AlertFate.ORDERED, note, now, action="released")
            released.append((tracked, Alert(tracked.key, AlertState.OPENED, tracked.alert_at,
                                            dict(tracked.evidence), Severity(tracked.severity),
                                            tracked.utilities)))
        return released

    def cleared(self, key: EpisodeKey, now: float) -> None:
        tracked = self.store.tracked(key)
        if tracked is None or tracked.fate is AlertFate.CLEARED:
            return
        if tracked.fate in WAITING and self.grace.waiting(tracked, now):
            # e.g. a gateway's backlog arrived: the fault was never anyone's job
            self.store.set_fate(key, AlertFate.CLEARED, f"cleared within the {self.grace.grace_s:g} s "
                                "maintenance grace (the meter's readings arrived): no order", now,
                                action="withdrawn")
            return
        # only a waiting alert's clearing is news for the mute log; an ordered one is in the ledger
        self.store.set_fate(key, AlertFate.CLEARED, "usage resumed" if tracked.fate in WAITING else "",
                            now, log=tracked.fate in WAITING)
