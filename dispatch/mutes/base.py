"""What the mute stage, its muters and the storm guard need from a mute store: SQLite
(:class:`dispatch.mutes.store.SqliteMuteStore`, one machine) and PostgreSQL
(:class:`dispatch.mutes.postgres.PostgresMuteStore`, shared by instances), both
:class:`dispatch.mutes.sql.SqlMuteStore`, pass the same contract suite
(tests/dispatch/test_mute_store_contract.py)."""

from __future__ import annotations

import builtins
from typing import Protocol

from dispatch.absences import Absence, Outage, OutageScope
from dispatch.mutes.records import AlertFate, MuteLogEntry, Storm, TrackedAlert
from lifesign.alerts import EpisodeKey


class MuteLookupError(LookupError):
    def __init__(self, what: str, ident: int) -> None:
        super().__init__(f"No {what} by the id of {ident!r} was found")


class MuteStore(Protocol):
    def close(self) -> None: ...

    def version(self) -> tuple[int, int]:
        """Changes whenever an absence, outage or storm was written, by anyone: muters
        cache what they read until it changes."""
        ...

    def add_absence(self, household_id: str, start: float, end: float, reason: str, created_by: str,
                    at: float) -> Absence: ...

    def end_absence(self, absence_id: int, at: float) -> Absence: ...

    def absences(self, household_id: str | None = None,
                 active_at: float | None = None) -> builtins.list[Absence]: ...

    def add_outage(self, scope: OutageScope, area: str, utilities: tuple[str, ...], start: float,
                   end: float, reason: str, created_by: str, at: float) -> Outage: ...

    def end_outage(self, outage_id: int, at: float) -> Outage: ...

    def outages(self, active_at: float | None = None) -> builtins.list[Outage]: ...

    def tracked(self, key: EpisodeKey) -> TrackedAlert | None: ...

    def track(self, alert: TrackedAlert, at: float) -> tuple[TrackedAlert, bool]: ...

    def set_fate(self, key: EpisodeKey, fate: AlertFate, reason: str, at: float, action: str = "",
                 log: bool = True) -> bool: ...

    def update_alert(self, key: EpisodeKey, severity: str, utilities: tuple[str, ...], alert_at: float,
                     evidence: dict[str, float]) -> None: ...

    def waiting(self) -> builtins.list[TrackedAlert]: ...

    def open_in(self, scope: str, area: str, rule: str, utilities: tuple[str, ...],
                since: float) -> builtins.list[TrackedAlert]: ...

    def candidates(self, since: float) -> builtins.list[tuple[str, str, str, str, int]]: ...

    def open_storm(self, scope: str, area: str, rule: str, utilities: tuple[str, ...],
                   episode_start: float, at: float, note: str) -> tuple[Storm, bool]: ...

    def end_storm(self, storm_id: int, at: float, reason: str) -> bool: ...

    def last_storm_end(self, scope: str, area: str, rule: str, utilities: tuple[str, ...]) -> float | None: ...

    def storms(self, standing_only: bool = True) -> builtins.list[Storm]: ...

    def mute_log(self, since: float | None = None, until: float | None = None) -> builtins.list[MuteLogEntry]: ...
