"""The muters: each answers one question, ``mutes(alert, now) -> reason | None``.

Like Alertmanager's silences and inhibitions, a muter never drops an alert: the
mute stage keeps it, writes down why, and asks again at every review, so an alert
whose reason has gone (an absence ended, an outage was lifted, an infrastructure
order was resolved) becomes a work order then.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import tzinfo
from typing import Protocol

from dispatch.absences import Absence, Outage, OutageScope
from dispatch.mutes.base import MuteStore
from dispatch.mutes.records import Storm, TrackedAlert
from dispatch.mutes.storm import StormGuard
from lifesign.alerts import Rule
from lifesign.clock import DEFAULT_TZ, local_time

#: rules an outage can explain: a cut utility looks like silence or like a dead meter
OUTAGE_RULES = frozenset({Rule.NO_USAGE.value, Rule.METER_OFFLINE.value})


class Muter(Protocol):
    name: str

    def mutes(self, alert: TrackedAlert, now: float) -> str | None: ...


class _Snapshot:
    """What a muter read from the store, kept while neither the time nor the store changed
    (a review asks about every waiting alert at the same ``now``)."""

    def __init__(self, store: MuteStore) -> None:
        self.store = store
        self._key: tuple[float, tuple[int, int]] | None = None

    def stale(self, now: float) -> bool:
        key = (now, self.store.version())
        if key == self._key:
            return False
        self._key = key
        return True


class AbsenceMuter:
    """The resident is away (travel, hospital): no welfare visit within the absence."""

    name = "absence"

    def __init__(self, store: MuteStore, tz: tzinfo = DEFAULT_TZ) -> None:
        self._snapshot = _Snapshot(store)
        self._tz = tz
        self._active: dict[str, list[Absence]] = {}

    def mutes(self, alert: TrackedAlert, now: float) -> str | None:
        if self._snapshot.stale(now):
            self._active = defaultdict(list)
            for a in self._snapshot.store.absences(active_at=now):
                self._active[a.household_id].append(a)
        for absence in self._active.get(alert.key.household_id, ()):
            return (f"absence #{absence.absence_id} ({absence.reason}) until "
                    f"{local_time(absence.effective_end, self._tz)}")
        return None


class OutageMuter:
    """A planned cut of the utilities the alert is about, for the home's building, grid or
    community. An alert about a utility the outage does not cut is not muted: a water cut
    does not explain a home whose electricity stopped too."""

    name = "outage"

    def __init__(self, store: MuteStore, tz: tzinfo = DEFAULT_TZ) -> None:
        self._snapshot = _Snapshot(store)
        self._tz = tz
        self._active: list[Outage] = []

    def mutes(self, alert: TrackedAlert, now: float) -> str | None:
        if alert.key.rule not in OUTAGE_RULES or not alert.utilities:
            return None
        if self._snapshot.stale(now):
            self._active = self._snapshot.store.outages(active_at=now)
        for outage in self._active:
            area = {OutageScope.BUILDING: alert.building, OutageScope.GRID: alert.grid,
                    OutageScope.COMMUNITY: alert.community}[outage.scope]
            if area == outage.area and set(alert.utilities) <= set(outage.utilities):
                return (f"outage #{outage.outage_id} ({'+'.join(outage.utilities)} cut in "
                        f"{outage.scope.value} {outage.area}: {outage.reason}) until "
                        f"{local_time(outage.effective_end, self._tz)}")
        return None


class StormMuter:
    """An infrastructure order stands for the alert's building or grid and signature.
    Only alerts the guard counts are muted (never an all-utilities silence)."""

    name = "storm"

    def __init__(self, guard: StormGuard) -> None:
        self._guard = guard
        self._snapshot = _Snapshot(guard.store)
        self._standing: list[Storm] = []

    def mutes(self, alert: TrackedAlert, now: float) -> str | None:
        if not self._guard.eligible(alert):
            return None
        if self._snapshot.stale(now):
            self._standing = self._guard.store.storms()
        for storm in self._standing:
            if storm.covers(alert):
                return (f"storm #{storm.storm_id}: infrastructure order {storm.order_key.as_text()} "
                        f"stands for {storm.scope} {storm.area}")
        return None
