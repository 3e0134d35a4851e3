"""Absences, outages, the alerts the mute stage holds, storms and the mute log in
PostgreSQL, shared by several lifesign instances (:mod:`dispatch.postgres`), with the
same queries and rules as :class:`dispatch.mutes.store.SqliteMuteStore`
(:mod:`dispatch.mutes.sql`). A partial unique index admits one standing storm per
signature: a second instance's insert waits for the first to commit, then does nothing
and reads the first one's storm.

``version()`` is a counter the triggers on absences, outages and storms raise in the
writing transaction itself, so a muter on another instance sees the new number only
together with the rows it stands for. Alerts do not raise it: every instance writes
them all the time, and no muter caches them.
"""

from __future__ import annotations

from dispatch.mutes.sql import SqlMuteStore
from dispatch.postgres import POSTGRES, PostgresDatabase

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


class PostgresMuteStore(SqlMuteStore):
    _STANDING_STORM_CONFLICT = " ON CONFLICT (scope, area, rule, utilities) WHERE ended_at IS NULL DO NOTHING"

    def __init__(self, dsn: str, *, pool_size: int = 4) -> None:
        super().__init__(PostgresDatabase(dsn, COMPONENT, MIGRATIONS, max_size=pool_size), POSTGRES)

    def version(self) -> tuple[int, int]:
        """Changes whenever an absence, outage or storm was written, by any instance or the CLI."""
        row = self._one("SELECT counter FROM mute_changes")
        return (int(row[0]) if row else 0), 0
