"""The embedded history store: one SQLite file, one row per (meter, ts).

The default for a single site and the demo. A city-scale site writes to an
InfluxDB v2 compatible server instead; both pass tests/ingest's contract suite.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import numpy as np

from lifesign.readings import ReadingBatch

_SCHEMA = """
CREATE TABLE IF NOT EXISTS readings (
    meter INTEGER NOT NULL,
    ts REAL NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (meter, ts)
) WITHOUT ROWID
"""


class SqliteHistoryStore:
    """:class:`lifesign.stores.HistoryStore` in a SQLite file (WAL mode).

    The ingest worker writes while the CLI reads the same file from another
    process; WAL lets those readers run without blocking the writer.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # One connection shared by the ingest worker and any reader thread of this
        # process, serialised by a lock: sqlite3 objects are not safe to use concurrently.
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = sqlite3.connect(
            str(self.path), check_same_thread=False, isolation_level=None, timeout=30.0
        )
        self._conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode: a commit is appended to the WAL file before write()
        # returns, but not fsynced. The OS holds it, so it survives the process
        # being killed (kill -9, a crash); only an OS crash or power loss can undo
        # the last commits, and then gateways and the broker's persistent session
        # resend what was not acked long ago enough to be checkpointed. FULL would
        # fsync every batch for protection against power loss only.
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute(_SCHEMA)

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise ValueError(f"history store {self.path} is closed")
        return self._conn

    def write(self, batch: ReadingBatch) -> int:
        """Insert the batch in one transaction; return how many (meter, ts) points were new."""
        if len(batch) == 0:
            return 0
        rows = zip(batch.meter.tolist(), batch.ts.tolist(), batch.value.tolist())
        with self._lock:
            conn = self._connection()
            before = conn.total_changes
            conn.execute("BEGIN IMMEDIATE")
            try:
                # OR IGNORE: a redelivered message (at-least-once) must leave one point.
                conn.executemany(
                    "INSERT OR IGNORE INTO readings (meter, ts, value) VALUES (?, ?, ?)", rows
                )
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return conn.total_changes - before

    def read(self, start: float | None = None, end: float | None = None) -> ReadingBatch:
        """Readings with start <= ts < end, sorted by (meter, ts)."""
        clauses: list[str] = []
        params: list[float] = []
        if start is not None:
            clauses.append("ts >= ?")
            params.append(float(start))
        if end is not None:
            clauses.append("ts < ?")
            params.append(float(end))
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        with self._lock:
            rows = (
                self._connection()
                .execute(f"SELECT meter, ts, value FROM readings{where} ORDER BY meter, ts", params)
                .fetchall()
            )
        if not rows:
            return ReadingBatch.empty()
        columns = np.array(rows, dtype=np.float64)
        return ReadingBatch(
            columns[:, 0].astype(np.int32), columns[:, 1].copy(), columns[:, 2].copy()
        )

    def count(self) -> int:
        with self._lock:
            (n,) = self._connection().execute("SELECT COUNT(*) FROM readings").fetchone()
        return int(n)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
