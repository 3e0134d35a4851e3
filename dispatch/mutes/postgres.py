"""Absences, outages, the alerts the mute stage holds, storms and the mute log in
PostgreSQL, shared by several lifesign instances (:mod:`dispatch.postgres`), with the
same rules as :class:`dispatch.mutes.store.SqliteMuteStore`.

``version()`` is a counter the triggers on absences, outages and storms raise in the
writing transaction itself, so a muter on another instance sees the new number only
together with the rows it stands for. Alerts do not raise it: every instance writes
them all the time, and no muter caches them.
"""

from __future__ import annotations

import builtins
from typing import Any

import orjson
import psycopg

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
from dispatch.mutes.store import MuteLookupError
from dispatch.postgres import PostgresDatabase
from lifesign.alerts import EpisodeKey

COMPONENT = "mutes"

_MIGRATION_1 = """
CREATE TABLE absences (
    absence_id   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    household_id TEXT NOT NULL,
    start        DOUBLE PRECISION NOT NULL,
    "end"        DOUBLE PRECISION NOT NULL,
    reason       TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   DOUBLE PRECISION NOT NULL,
    ended_at     DOUBLE PRECISION
);
CREATE INDEX absences_by_household ON absences (household_id);
CREATE TABLE outages (
    outage_id  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    scope      TEXT NOT NULL,
    area       TEXT NOT NULL,
    utilities  TEXT NOT NULL,
    start      DOUBLE PRECISION NOT NULL,
    "end"      DOUBLE PRECISION NOT NULL,
    reason     TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    ended_at   DOUBLE PRECISION
);
CREATE TABLE alerts (
    household_id  TEXT NOT NULL,
    rule          TEXT NOT NULL,
    episode_start DOUBLE PRECISION NOT NULL,
    severity      TEXT NOT NULL,
    utilities     TEXT NOT NULL,
    building      TEXT NOT NULL,
    grid          TEXT NOT NULL,
    community     TEXT NOT NULL,
    alert_at      DOUBLE PRECISION NOT NULL,
    first_seen    DOUBLE PRECISION NOT NULL,
    fate          TEXT NOT NULL,
    reason        TEXT NOT NULL DEFAULT '',
    evidence      JSONB NOT NULL DEFAULT '{}',
    PRIMARY KEY (household_id, rule, episode_start)
);
CREATE INDEX alerts_by_fate ON alerts (fate);
CREATE INDEX alerts_by_first_seen ON alerts (first_seen);
CREATE INDEX alerts_by_building ON alerts (building, rule, utilities);
CREATE INDEX alerts_by_grid ON alerts (grid, rule, utilities);
CREATE TABLE storms (
    storm_id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    scope         TEXT NOT NULL,
    area          TEXT NOT NULL,
    rule          TEXT NOT NULL,
    utilities     TEXT NOT NULL,
    episode_start DOUBLE PRECISION NOT NULL,
    opened_at     DOUBLE PRECISION NOT NULL,
    ended_at      DOUBLE PRECISION,
    end_reason    TEXT NOT NULL DEFAULT '',
    UNIQUE (scope, area, rule, utilities, episode_start)
);
-- at most one standing storm per signature, whichever instance opens it
CREATE UNIQUE INDEX storms_standing ON storms (scope, area, rule, utilities) WHERE ended_at IS NULL;
CREATE TABLE mute_log (
    entry_id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at            DOUBLE PRECISION NOT NULL,
    household_id  TEXT NOT NULL,
    rule          TEXT NOT NULL,
    episode_start DOUBLE PRECISION NOT NULL,
    action        TEXT NOT NULL,
    note          TEXT NOT NULL DEFAULT ''
);
CREATE FUNCTION mute_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the mute log is append-only: lines cannot be %',
        CASE TG_OP WHEN 'UPDATE' THEN 'changed' ELSE 'deleted' END;
END $$;
CREATE TRIGGER mute_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON mute_log
    FOR EACH STATEMENT EXECUTE FUNCTION mute_log_append_only();

CREATE TABLE mute_changes (only_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row),
                           counter BIGINT NOT NULL);
INSERT INTO mute_changes (counter) VALUES (0);
CREATE FUNCTION mute_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE mute_changes SET counter = counter + 1;
    RETURN NULL;
END $$;
CREATE TRIGGER absences_changed AFTER INSERT OR UPDATE OR DELETE ON absences
    FOR EACH STATEMENT EXECUTE FUNCTION mute_changed();
CREATE TRIGGER outages_changed AFTER INSERT OR UPDATE OR DELETE ON outages
    FOR EACH STATEMENT EXECUTE FUNCTION mute_changed();
CREATE TRIGGER storms_changed AFTER INSERT OR UPDATE OR DELETE ON storms
    FOR EACH STATEMENT EXECUTE FUNCTION mute_changed();
"""

MIGRATIONS: tuple[str, ...] = (_MIGRATION_1,)
_Db = psycopg.Connection[Any]
_KEY = "household_id = %s AND rule = %s AND episode_start = %s"


class PostgresMuteStore:
    def __init__(self, dsn: str, *, pool_size: int = 4) -> None:
        self._db = PostgresDatabase(dsn, COMPONENT, MIGRATIONS, max_size=pool_size)
        self._tx = self._db.transaction
        self._read = self._db.read

    def close(self) -> None:
        self._db.close()

    def version(self) -> tuple[int, int]:
        """Changes whenever an absence, outage or storm was written, by any instance or the CLI."""
        row = self._db.read_one("SELECT counter FROM mute_changes")
        return (int(row[0]) if row else 0), 0

    # -- absences ------------------------------------------------------------
    def add_absence(self, household_id: str, start: float, end: float, reason: str, created_by: str,
                    at: float) -> Absence:
        check_absence(start, end)
        with self._tx() as db:
            row = db.execute(
                'INSERT INTO absences (household_id, start, "end", reason, created_by, created_at)'
                f" VALUES (%s, %s, %s, %s, %s, %s) RETURNING {ABSENCE_COLUMNS}",
                (household_id, start, end, reason, created_by, at)).fetchone()
        assert row is not None
        return absence_from_row(row)

    def end_absence(self, absence_id: int, at: float) -> Absence:
        with self._tx() as db:
            db.execute("UPDATE absences SET ended_at = %s WHERE absence_id = %s AND ended_at IS NULL",
                       (at, absence_id))
            row = db.execute(f"SELECT {ABSENCE_COLUMNS} FROM absences WHERE absence_id = %s",
                             (absence_id,)).fetchone()
        if row is None:
            raise MuteLookupError("absence", absence_id)
        return absence_from_row(row)

    def absences(self, household_id: str | None = None,
                 active_at: float | None = None) -> builtins.list[Absence]:
        sql, params = f"SELECT {ABSENCE_COLUMNS} FROM absences", []
        if household_id is not None:
            sql, params = sql + " WHERE household_id = %s", [household_id]
        found = [absence_from_row(r) for r in self._read(sql + " ORDER BY absence_id", params)]
        return [a for a in found if active_at is None or a.covers(active_at)]

    # -- outages -------------------------------------------------------------
    def add_outage(self, scope: OutageScope, area: str, utilities: tuple[str, ...], start: float,
                   end: float, reason: str, created_by: str, at: float) -> Outage:
        check_outage(start, end, utilities)
        with self._tx() as db:
            row = db.execute(
                'INSERT INTO outages (scope, area, utilities, start, "end", reason, created_by, created_at)'
                f" VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING {OUTAGE_COLUMNS}",
                (OutageScope(scope).value, area, ",".join(sorted(set(utilities))), start, end, reason,
                 created_by, at)).fetchone()
        assert row is not None
        return outage_from_row(row)

    def end_outage(self, outage_id: int, at: float) -> Outage:
        with self._tx() as db:
            db.execute("UPDATE outages SET ended_at = %s WHERE outage_id = %s AND ended_at IS NULL",
                       (at, outage_id))
            row = db.execute(f"SELECT {OUTAGE_COLUMNS} FROM outages WHERE outage_id = %s",
                             (outage_id,)).fetchone()
        if row is None:
            raise MuteLookupError("outage", outage_id)
        return outage_from_row(row)

    def outages(self, active_at: float | None = None) -> builtins.list[Outage]:
        found = [outage_from_row(r) for r in self._read(f"SELECT {OUTAGE_COLUMNS} FROM outages ORDER BY outage_id")]
        return [o for o in found if active_at is None or o.covers(active_at)]

    # -- alerts the mute stage has seen ---------------------------------------
    def tracked(self, key: EpisodeKey) -> TrackedAlert | None:
        row = self._db.read_one(f"SELECT {ALERT_COLUMNS} FROM alerts WHERE {_KEY}", _key(key))
        return None if row is None else tracked_from_row(row)

    def track(self, alert: TrackedAlert, at: float) -> tuple[TrackedAlert, bool]:
        """Remember an alert the first time any instance sees it; returns (stored, created).
        A new alert that is held or muted gets its log line in the same transaction."""
        with self._tx() as db:
            row = db.execute(
                f"INSERT INTO alerts ({ALERT_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
                f" %s, %s, %s::jsonb) ON CONFLICT DO NOTHING RETURNING {ALERT_COLUMNS}",
                (*_key(alert.key), alert.severity, ",".join(alert.utilities), alert.building, alert.grid,
                 alert.community, alert.alert_at, alert.first_seen, alert.fate.value, alert.reason,
                 orjson.dumps(alert.evidence).decode())).fetchone()
            if row is not None:
                if alert.fate in (AlertFate.HELD, AlertFate.MUTED):
                    _log(db, at, alert.key, alert.fate.value, alert.reason)
                return tracked_from_row(row), True
            row = db.execute(f"SELECT {ALERT_COLUMNS} FROM alerts WHERE {_KEY}", _key(alert.key)).fetchone()
        assert row is not None
        return tracked_from_row(row), False

    def set_fate(self, key: EpisodeKey, fate: AlertFate, reason: str, at: float, action: str = "",
                 log: bool = True) -> bool:
        """Change an alert's fate; a log line is written (unless ``log`` is False) when
        fate or reason changed. Returns whether anything changed."""
        with self._tx() as db:
            row = db.execute(f"SELECT fate, reason FROM alerts WHERE {_KEY} FOR UPDATE", _key(key)).fetchone()
            if row is None or (row[0] == fate.value and row[1] == reason):
                return False
            db.execute(f"UPDATE alerts SET fate = %s, reason = %s WHERE {_KEY}",
                       (fate.value, reason, *_key(key)))
            if log:
                _log(db, at, key, action or fate.value, reason)
            return True

    def update_alert(self, key: EpisodeKey, severity: str, utilities: tuple[str, ...], alert_at: float,
                     evidence: dict[str, float]) -> None:
        with self._tx() as db:
            db.execute(f"UPDATE alerts SET severity = %s, utilities = %s, alert_at = %s, evidence = %s::jsonb"
                       f" WHERE {_KEY}", (severity, ",".join(utilities), alert_at,
                                         orjson.dumps(evidence).decode(), *_key(key)))

    def waiting(self) -> builtins.list[TrackedAlert]:
        rows = self._read(f"SELECT {ALERT_COLUMNS} FROM alerts WHERE fate = ANY(%s)"
                          " ORDER BY first_seen, household_id", ([AlertFate.HELD.value, AlertFate.MUTED.value],))
        return [tracked_from_row(r) for r in rows]

    def open_in(self, scope: str, area: str, rule: str, utilities: tuple[str, ...],
                since: float) -> builtins.list[TrackedAlert]:
        column = {"building": "building", "grid": "grid"}[scope]
        rows = self._read(
            f"SELECT {ALERT_COLUMNS} FROM alerts WHERE {column} = %s AND rule = %s AND utilities = %s"
            " AND fate <> %s AND first_seen >= %s",
            (area, rule, ",".join(utilities), AlertFate.CLEARED.value, since))
        return [tracked_from_row(r) for r in rows]

    def candidates(self, since: float) -> builtins.list[tuple[str, str, str, str, int]]:
        return [(r[0], r[1], r[2], r[3], int(r[4])) for r in self._read(
            "SELECT building, grid, rule, utilities, COUNT(DISTINCT household_id) FROM alerts"
            " WHERE fate <> %s AND first_seen >= %s GROUP BY building, grid, rule, utilities",
            (AlertFate.CLEARED.value, since))]

    # -- storms --------------------------------------------------------------
    def open_storm(self, scope: str, area: str, rule: str, utilities: tuple[str, ...],
                   episode_start: float, at: float, note: str) -> tuple[Storm, bool]:
        signature = (scope, area, rule, ",".join(utilities))
        with self._tx() as db:
            # the partial unique index admits one standing storm: a second instance's insert
            # waits for the first to commit, then does nothing and reads the first one's storm
            row = db.execute(
                "INSERT INTO storms (scope, area, rule, utilities, episode_start, opened_at)"
                " VALUES (%s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (scope, area, rule, utilities) WHERE ended_at IS NULL DO NOTHING"
                f" RETURNING {STORM_COLUMNS}", (*signature, episode_start, at)).fetchone()
            if row is not None:
                storm = storm_from_row(row)
                _log(db, at, storm.order_key, "storm opened", note)
                return storm, True
            standing = db.execute(
                f"SELECT {STORM_COLUMNS} FROM storms WHERE scope = %s AND area = %s AND rule = %s"
                " AND utilities = %s AND ended_at IS NULL", signature).fetchone()
        assert standing is not None
        return storm_from_row(standing), False

    def end_storm(self, storm_id: int, at: float, reason: str) -> bool:
        with self._tx() as db:
            row = db.execute(f"SELECT {STORM_COLUMNS} FROM storms WHERE storm_id = %s AND ended_at IS NULL"
                             " FOR UPDATE", (storm_id,)).fetchone()
            if row is None:
                return False
            db.execute("UPDATE storms SET ended_at = %s, end_reason = %s WHERE storm_id = %s",
                       (at, reason, storm_id))
            _log(db, at, storm_from_row(row).order_key, "storm ended", reason)
            return True

    def last_storm_end(self, scope: str, area: str, rule: str, utilities: tuple[str, ...]) -> float | None:
        row = self._db.read_one("SELECT MAX(ended_at) FROM storms WHERE scope = %s AND area = %s"
                                " AND rule = %s AND utilities = %s", (scope, area, rule, ",".join(utilities)))
        return None if row is None or row[0] is None else float(row[0])

    def storms(self, standing_only: bool = True) -> builtins.list[Storm]:
        where = " WHERE ended_at IS NULL" if standing_only else ""
        return [storm_from_row(r) for r in self._read(f"SELECT {STORM_COLUMNS} FROM storms{where} ORDER BY storm_id")]

    # -- log -----------------------------------------------------------------
    def mute_log(self, since: float | None = None, until: float | None = None) -> builtins.list[MuteLogEntry]:
        rows = self._read("SELECT at, household_id, rule, episode_start, action, note FROM mute_log"
                          " WHERE at >= %s AND at < %s ORDER BY entry_id",
                          (-1e18 if since is None else since, 1e18 if until is None else until))
        return [MuteLogEntry(float(r[0]), r[1], r[2], float(r[3]), r[4], r[5]) for r in rows]


def _key(key: EpisodeKey) -> tuple[str, str, float]:
    return key.household_id, key.rule, key.episode_start


def _log(db: _Db, at: float, key: EpisodeKey, action: str, note: str) -> None:
    db.execute("INSERT INTO mute_log (at, household_id, rule, episode_start, action, note)"
               " VALUES (%s, %s, %s, %s, %s, %s)", (at, *_key(key), action, note))
