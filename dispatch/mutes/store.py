"""Absences, outages, the alerts the mute stage holds, storms and the mute log in one
SQLite file (``mutes.sqlite`` beside ``orders.sqlite``).

The CLI adds and ends absences and outages while the service runs (:mod:`dispatch.sqlite`,
like the order store). The mute
log is append-only (triggers), so the record of why an alert did not become an
order cannot be rewritten.
"""

from __future__ import annotations

import builtins
import sqlite3
from pathlib import Path

import orjson

from dispatch.absences import Absence, Outage, OutageScope, check_absence, check_outage
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
from dispatch.sqlite import BUSY_TIMEOUT_S, SqliteFile
from lifesign.alerts import EpisodeKey

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS absences (
    absence_id   INTEGER PRIMARY KEY AUTOINCREMENT,
    household_id TEXT NOT NULL,
    start        REAL NOT NULL,
    end          REAL NOT NULL,
    reason       TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   REAL NOT NULL,
    ended_at     REAL
);
CREATE INDEX IF NOT EXISTS absences_by_household ON absences (household_id);
CREATE TABLE IF NOT EXISTS outages (
    outage_id  INTEGER PRIMARY KEY AUTOINCREMENT,
    scope      TEXT NOT NULL,
    area       TEXT NOT NULL,
    utilities  TEXT NOT NULL,
    start      REAL NOT NULL,
    end        REAL NOT NULL,
    reason     TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at REAL NOT NULL,
    ended_at   REAL
);
CREATE TABLE IF NOT EXISTS alerts (
    household_id  TEXT NOT NULL,
    rule          TEXT NOT NULL,
    episode_start REAL NOT NULL,
    severity      TEXT NOT NULL,
    utilities     TEXT NOT NULL,
    building      TEXT NOT NULL,
    grid          TEXT NOT NULL,
    community     TEXT NOT NULL,
    alert_at      REAL NOT NULL,
    first_seen    REAL NOT NULL,
    fate          TEXT NOT NULL,
    reason        TEXT NOT NULL DEFAULT '',
    evidence      TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (household_id, rule, episode_start)
);
CREATE INDEX IF NOT EXISTS alerts_by_fate ON alerts (fate);
CREATE INDEX IF NOT EXISTS alerts_by_first_seen ON alerts (first_seen);
CREATE INDEX IF NOT EXISTS alerts_by_building ON alerts (building, rule, utilities);
CREATE INDEX IF NOT EXISTS alerts_by_grid ON alerts (grid, rule, utilities);
CREATE TABLE IF NOT EXISTS storms (
    storm_id      INTEGER PRIMARY KEY AUTOINCREMENT,
    scope         TEXT NOT NULL,
    area          TEXT NOT NULL,
    rule          TEXT NOT NULL,
    utilities     TEXT NOT NULL,
    episode_start REAL NOT NULL,
    opened_at     REAL NOT NULL,
    ended_at      REAL,
    end_reason    TEXT NOT NULL DEFAULT '',
    UNIQUE (scope, area, rule, utilities, episode_start)
);
CREATE TABLE IF NOT EXISTS mute_log (
    entry_id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at            REAL NOT NULL,
    household_id  TEXT NOT NULL,
    rule          TEXT NOT NULL,
    episode_start REAL NOT NULL,
    action        TEXT NOT NULL,
    note          TEXT NOT NULL DEFAULT ''
);
CREATE TRIGGER IF NOT EXISTS mute_log_no_update BEFORE UPDATE ON mute_log
    BEGIN SELECT RAISE(ABORT, 'the mute log is append-only: lines cannot be changed'); END;
CREATE TRIGGER IF NOT EXISTS mute_log_no_delete BEFORE DELETE ON mute_log
    BEGIN SELECT RAISE(ABORT, 'the mute log is append-only: lines cannot be deleted'); END;
"""

class MuteLookupError(LookupError):
    def __init__(self, what: str, ident: int) -> None:
        super().__init__(f"No {what} by the id of {ident!r} was found")


class SqliteMuteStore:
    def __init__(self, path: str | Path, busy_timeout_s: float = BUSY_TIMEOUT_S) -> None:
        self.path = Path(path)
        self._db = SqliteFile(self.path, "mute store", _SCHEMA, SCHEMA_VERSION, busy_timeout_s=busy_timeout_s)
        self._write = self._db.write
        self._read = self._db.read

    def close(self) -> None:
        self._db.close()

    def version(self) -> tuple[int, int]:
        """Changes whenever anything was written, by this connection or another process
        (the CLI): muters cache what they read until it changes."""
        return self._db.version()

    # -- absences ------------------------------------------------------------
    def add_absence(self, household_id: str, start: float, end: float, reason: str, created_by: str,
                    at: float) -> Absence:
        check_absence(start, end)
        with self._write() as db:
            cursor = db.execute(
                "INSERT INTO absences (household_id, start, end, reason, created_by, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)", (household_id, start, end, reason, created_by, at))
            return Absence(int(cursor.lastrowid or 0), household_id, start, end, reason, created_by, at)

    def end_absence(self, absence_id: int, at: float) -> Absence:
        with self._write() as db:
            db.execute("UPDATE absences SET ended_at = ? WHERE absence_id = ? AND ended_at IS NULL",
                       (at, absence_id))
            row = db.execute(f"SELECT {ABSENCE_COLUMNS} FROM absences WHERE absence_id = ?",
                             (absence_id,)).fetchone()
        if row is None:
            raise MuteLookupError("absence", absence_id)
        return absence_from_row(row)

    def absences(self, household_id: str | None = None,
                 active_at: float | None = None) -> builtins.list[Absence]:
        sql, params = f"SELECT {ABSENCE_COLUMNS} FROM absences", []
        if household_id is not None:
            sql, params = sql + " WHERE household_id = ?", [household_id]
        found = [absence_from_row(r) for r in self._read(sql + " ORDER BY absence_id", params)]
        return [a for a in found if active_at is None or a.covers(active_at)]

    # -- outages -------------------------------------------------------------
    def add_outage(self, scope: OutageScope, area: str, utilities: tuple[str, ...], start: float,
                   end: float, reason: str, created_by: str, at: float) -> Outage:
        check_outage(start, end, utilities)
        utilities = tuple(sorted(set(utilities)))
        with self._write() as db:
            cursor = db.execute(
                "INSERT INTO outages (scope, area, utilities, start, end, reason, created_by, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (OutageScope(scope).value, area, ",".join(utilities), start, end, reason, created_by, at))
            return Outage(int(cursor.lastrowid or 0), OutageScope(scope), area, utilities, start, end,
                          reason, created_by, at)

    def end_outage(self, outage_id: int, at: float) -> Outage:
        with self._write() as db:
            db.execute("UPDATE outages SET ended_at = ? WHERE outage_id = ? AND ended_at IS NULL",
                       (at, outage_id))
            row = db.execute(f"SELECT {OUTAGE_COLUMNS} FROM outages WHERE outage_id = ?",
                             (outage_id,)).fetchone()
        if row is None:
            raise MuteLookupError("outage", outage_id)
        return outage_from_row(row)

    def outages(self, active_at: float | None = None) -> builtins.list[Outage]:
        found = [outage_from_row(r) for r in self._read(f"SELECT {OUTAGE_COLUMNS} FROM outages ORDER BY outage_id")]
        return [o for o in found if active_at is None or o.covers(active_at)]

    # -- alerts the mute stage has seen ---------------------------------------
    def tracked(self, key: EpisodeKey) -> TrackedAlert | None:
        rows = self._read(f"SELECT {ALERT_COLUMNS} FROM alerts WHERE household_id = ? AND rule = ?"
                          " AND episode_start = ?", (key.household_id, key.rule, key.episode_start))
        return tracked_from_row(rows[0]) if rows else None

    def track(self, alert: TrackedAlert, at: float) -> tuple[TrackedAlert, bool]:
        """Remember an alert the first time it is seen; returns (stored, created). A new
        alert that is held or muted gets its log line in the same transaction."""
        with self._write() as db:
            db.execute(
                f"INSERT OR IGNORE INTO alerts ({ALERT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (alert.key.household_id, alert.key.rule, alert.key.episode_start, alert.severity,
                 ",".join(alert.utilities), alert.building, alert.grid, alert.community, alert.alert_at,
                 alert.first_seen, alert.fate.value, alert.reason, orjson.dumps(alert.evidence).decode()))
            created = db.execute("SELECT changes()").fetchone()[0] == 1
            if created and alert.fate in (AlertFate.HELD, AlertFate.MUTED):
                _log(db, at, alert.key, alert.fate.value, alert.reason)
            row = db.execute(f"SELECT {ALERT_COLUMNS} FROM alerts WHERE household_id = ? AND rule = ?"
                             " AND episode_start = ?",
                             (alert.key.household_id, alert.key.rule, alert.key.episode_start)).fetchone()
        return tracked_from_row(row), created

    def set_fate(self, key: EpisodeKey, fate: AlertFate, reason: str, at: float, action: str = "",
                 log: bool = True) -> bool:
        """Change an alert's fate; a log line is written (unless ``log`` is False) when
        fate or reason changed. Returns whether anything changed."""
        with self._write() as db:
            row = db.execute("SELECT fate, reason FROM alerts WHERE household_id = ? AND rule = ?"
                             " AND episode_start = ?", (key.household_id, key.rule, key.episode_start)).fetchone()
            if row is None or (row[0] == fate.value and row[1] == reason):
                return False
            db.execute("UPDATE alerts SET fate = ?, reason = ? WHERE household_id = ? AND rule = ?"
                       " AND episode_start = ?", (fate.value, reason, key.household_id, key.rule,
                                                 key.episode_start))
            if log:
                _log(db, at, key, action or fate.value, reason)
            return True

    def update_alert(self, key: EpisodeKey, severity: str, utilities: tuple[str, ...], alert_at: float,
                     evidence: dict[str, float]) -> None:
        """The detector re-announced a waiting alert with new facts (e.g. the silence spread
        to every utility: critical now); the next review judges it on them."""
        with self._write() as db:
            db.execute("UPDATE alerts SET severity = ?, utilities = ?, alert_at = ?, evidence = ?"
                       " WHERE household_id = ? AND rule = ? AND episode_start = ?",
                       (severity, ",".join(utilities), alert_at, orjson.dumps(evidence).decode(),
                        key.household_id, key.rule, key.episode_start))

    def waiting(self) -> builtins.list[TrackedAlert]:
        """Alerts held or muted: the review re-evaluates each of them."""
        rows = self._read(f"SELECT {ALERT_COLUMNS} FROM alerts WHERE fate IN (?, ?)"
                          " ORDER BY first_seen, household_id", (AlertFate.HELD.value, AlertFate.MUTED.value))
        return [tracked_from_row(r) for r in rows]

    def open_in(self, scope: str, area: str, rule: str, utilities: tuple[str, ...],
                since: float) -> builtins.list[TrackedAlert]:
        """Alerts not cleared, of one signature, in a building or grid, first seen since ``since``."""
        column = {"building": "building", "grid": "grid"}[scope]
        rows = self._read(
            f"SELECT {ALERT_COLUMNS} FROM alerts WHERE {column} = ? AND rule = ? AND utilities = ?"
            " AND fate != ? AND first_seen >= ?",
            (area, rule, ",".join(utilities), AlertFate.CLEARED.value, since))
        return [tracked_from_row(r) for r in rows]

    def candidates(self, since: float) -> builtins.list[tuple[str, str, str, str, int]]:
        """(building, grid, rule, utilities, homes) groups of alerts not cleared, seen since ``since``."""
        return [(r[0], r[1], r[2], r[3], int(r[4])) for r in self._read(
            "SELECT building, grid, rule, utilities, COUNT(DISTINCT household_id) FROM alerts"
            " WHERE fate != ? AND first_seen >= ? GROUP BY building, grid, rule, utilities",
            (AlertFate.CLEARED.value, since))]

    # -- storms --------------------------------------------------------------
    def open_storm(self, scope: str, area: str, rule: str, utilities: tuple[str, ...],
                   episode_start: float, at: float, note: str) -> tuple[Storm, bool]:
        with self._write() as db:
            standing = db.execute(
                f"SELECT {STORM_COLUMNS} FROM storms WHERE scope = ? AND area = ? AND rule = ?"
                " AND utilities = ? AND ended_at IS NULL", (scope, area, rule, ",".join(utilities))).fetchone()
            if standing is not None:
                return storm_from_row(standing), False
            cursor = db.execute(
                "INSERT INTO storms (scope, area, rule, utilities, episode_start, opened_at)"
                " VALUES (?, ?, ?, ?, ?, ?)", (scope, area, rule, ",".join(utilities), episode_start, at))
            storm = Storm(int(cursor.lastrowid or 0), scope, area, rule, utilities, episode_start, at)
            _log(db, at, storm.order_key, "storm opened", note)
            return storm, True

    def end_storm(self, storm_id: int, at: float, reason: str) -> bool:
        with self._write() as db:
            row = db.execute(f"SELECT {STORM_COLUMNS} FROM storms WHERE storm_id = ? AND ended_at IS NULL",
                             (storm_id,)).fetchone()
            if row is None:
                return False
            db.execute("UPDATE storms SET ended_at = ?, end_reason = ? WHERE storm_id = ?",
                       (at, reason, storm_id))
            _log(db, at, storm_from_row(row).order_key, "storm ended", reason)
            return True

    def last_storm_end(self, scope: str, area: str, rule: str, utilities: tuple[str, ...]) -> float | None:
        row = self._read("SELECT MAX(ended_at) FROM storms WHERE scope = ? AND area = ? AND rule = ?"
                         " AND utilities = ?", (scope, area, rule, ",".join(utilities)))
        return None if not row or row[0][0] is None else float(row[0][0])

    def storms(self, standing_only: bool = True) -> builtins.list[Storm]:
        where = " WHERE ended_at IS NULL" if standing_only else ""
        return [storm_from_row(r) for r in self._read(f"SELECT {STORM_COLUMNS} FROM storms{where} ORDER BY storm_id")]

    # -- log -----------------------------------------------------------------
    def mute_log(self, since: float | None = None, until: float | None = None) -> builtins.list[MuteLogEntry]:
        rows = self._read("SELECT at, household_id, rule, episode_start, action, note FROM mute_log"
                          " WHERE at >= ? AND at < ? ORDER BY entry_id",
                          (-1e18 if since is None else since, 1e18 if until is None else until))
        return [MuteLogEntry(float(r[0]), r[1], r[2], float(r[3]), r[4], r[5]) for r in rows]


def _log(db: sqlite3.Connection, at: float, key: EpisodeKey, action: str, note: str) -> None:
    db.execute("INSERT INTO mute_log (at, household_id, rule, episode_start, action, note)"
               " VALUES (?, ?, ?, ?, ?, ?)", (at, key.household_id, key.rule, key.episode_start, action, note))
