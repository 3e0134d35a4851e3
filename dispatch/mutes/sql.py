"""Absences, outages, the alerts the mute stage holds, storms and the mute log in SQL,
written once for SQLite (:mod:`dispatch.mutes.store`) and PostgreSQL
(:mod:`dispatch.mutes.postgres`); each says only how it opens its database and what
``version()`` reads (:mod:`dispatch.sql` for what the dialects differ in).

An alert is tracked once per episode (its primary key with ``ON CONFLICT DO NOTHING``);
a fate changes on a locked row; the mute log is append-only (triggers), so the record
of why an alert did not become an order cannot be rewritten.
"""

from __future__ import annotations

import builtins
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from dispatch.absences import Absence, Outage, OutageScope, check_absence, check_outage
from dispatch.mutes.base import MuteLookupError
from dispatch.mutes.records import AlertFate, MuteLogEntry, Storm, TrackedAlert
from dispatch.mutes.rows import (
    ABSENCE_COLUMNS,
    ALERT_COLUMNS,
    OUTAGE_COLUMNS,
    STORM_COLUMNS,
    absence_from_row,
    outage_from_row,
    storm_from_row,
    tracked_from_row,
)
from dispatch.sql import EPISODE, Row, SqlStore, Table, Transaction, episode_params
from lifesign.alerts import EpisodeKey

_SIGNATURE = "scope = ? AND area = ? AND rule = ? AND utilities = ?"

_ABSENCES = Table("absences", "absence_id", ABSENCE_COLUMNS)
_OUTAGES = Table("outages", "outage_id", OUTAGE_COLUMNS)
_STORMS = Table("storms", "storm_id", STORM_COLUMNS)


class SqlMuteStore(SqlStore, ABC):
    #: how an insert of a second standing storm of one signature is told apart: nothing
    #: where the one writer looked first (SQLite), a partial unique index where another
    #: instance may be inserting at the same moment (PostgreSQL)
    _STANDING_STORM_CONFLICT = ""

    @abstractmethod
    def version(self) -> tuple[int, int]:
        """Changes whenever an absence, outage or storm was written, by anyone: muters
        cache what they read until it changes."""

    # -- absences ------------------------------------------------------------
    def add_absence(self, household_id: str, start: float, end: float, reason: str, created_by: str,
                    at: float) -> Absence:
        check_absence(start, end)
        return absence_from_row(self._add(
            _ABSENCES, 'household_id, start, "end", reason, created_by, created_at',
            (household_id, start, end, reason, created_by, at)))

    def end_absence(self, absence_id: int, at: float) -> Absence:
        return absence_from_row(self._end(_ABSENCES, "absence", absence_id, at))

    def absences(self, household_id: str | None = None,
                 active_at: float | None = None) -> builtins.list[Absence]:
        sql, params = f"SELECT {ABSENCE_COLUMNS} FROM absences", []
        if household_id is not None:
            sql, params = sql + " WHERE household_id = ?", [household_id]
        found = [absence_from_row(r) for r in self._all(sql + " ORDER BY absence_id", params)]
        return [a for a in found if active_at is None or a.covers(active_at)]

    # -- outages -------------------------------------------------------------
    def add_outage(self, scope: OutageScope, area: str, utilities: tuple[str, ...], start: float,
                   end: float, reason: str, created_by: str, at: float) -> Outage:
        check_outage(start, end, utilities)
        return outage_from_row(self._add(
            _OUTAGES, 'scope, area, utilities, start, "end", reason, created_by, created_at',
            (OutageScope(scope).value, area, ",".join(sorted(set(utilities))), start, end, reason,
             created_by, at)))

    def end_outage(self, outage_id: int, at: float) -> Outage:
        return outage_from_row(self._end(_OUTAGES, "outage", outage_id, at))

    def outages(self, active_at: float | None = None) -> builtins.list[Outage]:
        rows = self._all(f"SELECT {OUTAGE_COLUMNS} FROM outages ORDER BY outage_id")
        found = [outage_from_row(r) for r in rows]
        return [o for o in found if active_at is None or o.covers(active_at)]

    def _add(self, table: Table, names: str, values: Sequence[Any]) -> Row:
        with self._tx() as tx:
            row = tx.insert(table, names, values)
        assert row is not None  # nothing but the id is unique in an absence or outage
        return row

    def _end(self, table: Table, what: str, ident: int, at: float) -> Row:
        """Ends an absence or outage; ending it again keeps the first end."""
        with self._tx() as tx:
            tx.run(f"UPDATE {table.name} SET ended_at = ? WHERE {table.id_column} = ? AND ended_at IS NULL",
                   (at, ident))
            row = tx.one(f"SELECT {table.columns} FROM {table.name} WHERE {table.id_column} = ?", (ident,))
        if row is None:
            raise MuteLookupError(what, ident)
        return row

    # -- alerts the mute stage has seen ---------------------------------------
    def tracked(self, key: EpisodeKey) -> TrackedAlert | None:
        row = self._one(f"SELECT {ALERT_COLUMNS} FROM alerts WHERE {EPISODE}", episode_params(key))
        return None if row is None else tracked_from_row(row)

    def track(self, alert: TrackedAlert, at: float) -> tuple[TrackedAlert, bool]:
        """Remember an alert the first time anyone sees it; returns (stored, created). A new
        alert that is held or muted gets its log line in the same transaction."""
        with self._tx() as tx:
            created = tx.run(
                f"INSERT INTO alerts ({ALERT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (household_id, rule, episode_start) DO NOTHING",
                (*episode_params(alert.key), alert.severity, ",".join(alert.utilities), alert.building,
                 alert.grid, alert.community, alert.alert_at, alert.first_seen, alert.fate.value,
                 alert.reason, tx.json(alert.evidence))) == 1
            if created and alert.fate in (AlertFate.HELD, AlertFate.MUTED):
                _log(tx, at, alert.key, alert.fate.value, alert.reason)
            row = tx.one(f"SELECT {ALERT_COLUMNS} FROM alerts WHERE {EPISODE}", episode_params(alert.key))
        assert row is not None  # inserted, or its conflict proved it there
        return tracked_from_row(row), created

    def set_fate(self, key: EpisodeKey, fate: AlertFate, reason: str, at: float, action: str = "",
                 log: bool = True) -> bool:
        """Change an alert's fate; a log line is written (unless ``log`` is False) when
        fate or reason changed. Returns whether anything changed."""
        with self._tx() as tx:
            row = tx.one(f"SELECT fate, reason FROM alerts WHERE {EPISODE}", episode_params(key), lock=True)
            if row is None or (row[0] == fate.value and row[1] == reason):
                return False
            tx.run(f"UPDATE alerts SET fate = ?, reason = ? WHERE {EPISODE}",
                   (fate.value, reason, *episode_params(key)))
            if log:
                _log(tx, at, key, action or fate.value, reason)
            return True

    def update_alert(self, key: EpisodeKey, severity: str, utilities: tuple[str, ...], alert_at: float,
                     evidence: dict[str, float]) -> None:
        """The detector re-announced a waiting alert with new facts (e.g. the silence spread
        to every utility: critical now); the next review judges it on them."""
        with self._tx() as tx:
            tx.run(f"UPDATE alerts SET severity = ?, utilities = ?, alert_at = ?, evidence = ? WHERE {EPISODE}",
                   (severity, ",".join(utilities), alert_at, tx.json(evidence), *episode_params(key)))

    def waiting(self) -> builtins.list[TrackedAlert]:
        """Alerts held or muted: the review re-evaluates each of them."""
        rows = self._all(f"SELECT {ALERT_COLUMNS} FROM alerts WHERE fate IN (?, ?)"
                         " ORDER BY first_seen, household_id", (AlertFate.HELD.value, AlertFate.MUTED.value))
        return [tracked_from_row(r) for r in rows]

    def open_in(self, scope: str, area: str, rule: str, utilities: tuple[str, ...],
                since: float) -> builtins.list[TrackedAlert]:
        """Alerts not cleared, of one signature, in a building or grid, first seen since ``since``."""
        column = {"building": "building", "grid": "grid"}[scope]
        rows = self._all(
            f"SELECT {ALERT_COLUMNS} FROM alerts WHERE {column} = ? AND rule = ? AND utilities = ?"
            " AND fate <> ? AND first_seen >= ?",
            (area, rule, ",".join(utilities), AlertFate.CLEARED.value, since))
        return [tracked_from_row(r) for r in rows]

    def candidates(self, since: float) -> builtins.list[tuple[str, str, str, str, int]]:
        """(building, grid, rule, utilities, homes) groups of alerts not cleared, seen since ``since``."""
        return [(r[0], r[1], r[2], r[3], int(r[4])) for r in self._all(
            "SELECT building, grid, rule, utilities, COUNT(DISTINCT household_id) FROM alerts"
            " WHERE fate <> ? AND first_seen >= ? GROUP BY building, grid, rule, utilities",
            (AlertFate.CLEARED.value, since))]

    # -- storms --------------------------------------------------------------
    def open_storm(self, scope: str, area: str, rule: str, utilities: tuple[str, ...],
                   episode_start: float, at: float, note: str) -> tuple[Storm, bool]:
        signature = (scope, area, rule, ",".join(utilities))
        standing_sql = f"SELECT {STORM_COLUMNS} FROM storms WHERE {_SIGNATURE} AND ended_at IS NULL"
        with self._tx() as tx:
            standing = tx.one(standing_sql, signature)
            if standing is None:
                row = tx.insert(_STORMS, "scope, area, rule, utilities, episode_start, opened_at",
                              (*signature, episode_start, at), self._STANDING_STORM_CONFLICT)
                if row is not None:
                    storm = storm_from_row(row)
                    _log(tx, at, storm.order_key, "storm opened", note)
                    return storm, True
                # another instance opened it since we looked: its insert committed first
                standing = tx.one(standing_sql, signature)
        assert standing is not None
        return storm_from_row(standing), False

    def end_storm(self, storm_id: int, at: float, reason: str) -> bool:
        with self._tx() as tx:
            row = tx.one(f"SELECT {STORM_COLUMNS} FROM storms WHERE storm_id = ? AND ended_at IS NULL",
                         (storm_id,), lock=True)
            if row is None:
                return False
            tx.run("UPDATE storms SET ended_at = ?, end_reason = ? WHERE storm_id = ?", (at, reason, storm_id))
            _log(tx, at, storm_from_row(row).order_key, "storm ended", reason)
            return True

    def last_storm_end(self, scope: str, area: str, rule: str, utilities: tuple[str, ...]) -> float | None:
        row = self._one(f"SELECT MAX(ended_at) FROM storms WHERE {_SIGNATURE}",
                        (scope, area, rule, ",".join(utilities)))
        return None if row is None or row[0] is None else float(row[0])

    def storms(self, standing_only: bool = True) -> builtins.list[Storm]:
        where = " WHERE ended_at IS NULL" if standing_only else ""
        rows = self._all(f"SELECT {STORM_COLUMNS} FROM storms{where} ORDER BY storm_id")
        return [storm_from_row(r) for r in rows]

    # -- log -----------------------------------------------------------------
    def mute_log(self, since: float | None = None, until: float | None = None) -> builtins.list[MuteLogEntry]:
        rows = self._all("SELECT at, household_id, rule, episode_start, action, note FROM mute_log"
                         " WHERE at >= ? AND at < ? ORDER BY entry_id",
                         (-1e18 if since is None else since, 1e18 if until is None else until))
        return [MuteLogEntry(float(r[0]), r[1], r[2], float(r[3]), r[4], r[5]) for r in rows]


def _log(tx: Transaction, at: float, key: EpisodeKey, action: str, note: str) -> None:
    tx.run("INSERT INTO mute_log (at, household_id, rule, episode_start, action, note)"
           " VALUES (?, ?, ?, ?, ?, ?)", (at, *episode_params(key), action, note))


__all__ = ["SqlMuteStore"]
