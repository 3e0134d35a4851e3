"""Absences, outages, the alerts the mute stage holds, storms and the mute log in one
SQLite file (``mutes.sqlite`` beside ``orders.sqlite``).

The CLI adds and ends absences and outages while the service runs (:mod:`dispatch.sqlite`,
like the order store); the queries are :mod:`dispatch.mutes.sql`'s. The mute log is
append-only (triggers), so the record of why an alert did not become an order cannot be
rewritten.
"""

from __future__ import annotations

from pathlib import Path

from dispatch.mutes.base import MuteLookupError
from dispatch.mutes.sql import SqlMuteStore
from dispatch.sqlite import BUSY_TIMEOUT_S, SQLITE, SqliteFile

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


class SqliteMuteStore(SqlMuteStore):
    def __init__(self, path: str | Path, busy_timeout_s: float = BUSY_TIMEOUT_S) -> None:
        self.path = Path(path)
        self._file = SqliteFile(self.path, "mute store", _SCHEMA, SCHEMA_VERSION,
                                busy_timeout_s=busy_timeout_s)
        super().__init__(self._file, SQLITE)

    def version(self) -> tuple[int, int]:
        """Changes whenever anything was written, by this connection or another process
        (the CLI): muters cache what they read until it changes."""
        return self._file.version()


__all__ = ["MuteLookupError", "SqliteMuteStore"]
