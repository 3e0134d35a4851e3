"""Who watches which partition: one lease row per partition in PostgreSQL.

A holder takes a partition's row when its deadline has passed and pushes the deadline
``lease_s`` ahead every ``lease_s / 3``; a standby asks again every moment until the
row is free. A row rather than a session advisory lock, because a row works through
PgBouncer's transaction pooling (a session lock needs the same server connection for
life), and it shows holder and deadline to `lifesign status`. Its price is a write
every ``lease_s / 3`` per partition, and that a dead holder keeps its partition until
the deadline (an advisory lock is freed the moment its connection drops).

Every deadline is the database's clock (``now()``), so hosts need not agree on time.
The holder fences itself by its own monotonic clock: it counts its lease from before
it sent the renewal, so its deadline falls before the one the database keeps, and it
stops ingest and dispatch before a standby can take over. The lease is for ownership,
not for safety: even two overlapping instances open each order once (unique episode
key) and send each delivery once per idempotency key (outbox claims).

``epoch`` counts the takeovers of a partition: a fencing token for whoever needs one.
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass
from typing import Any

import psycopg

from dispatch.postgres import PostgresDatabase

COMPONENT = "leases"
#: what asking PostgreSQL may raise while it is away (a pool timeout is an OperationalError)
UNREACHABLE = (psycopg.Error, OSError)

_MIGRATION_1 = """
CREATE TABLE partition_lease (
    partition   TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    host        TEXT NOT NULL,
    pid         INTEGER NOT NULL,
    epoch       BIGINT NOT NULL,
    acquired_at TIMESTAMPTZ NOT NULL,
    renewed_at  TIMESTAMPTZ NOT NULL,
    deadline    TIMESTAMPTZ NOT NULL
)
"""
MIGRATIONS = (_MIGRATION_1,)

_COLUMNS = ("partition, holder, host, pid, epoch, EXTRACT(EPOCH FROM acquired_at), EXTRACT(EPOCH FROM renewed_at), "
            "EXTRACT(EPOCH FROM deadline), EXTRACT(EPOCH FROM deadline - now())")


@dataclass(frozen=True)
class LeaseRecord:
    partition: str
    #: "" for a partition nobody has held yet
    holder: str
    host: str
    pid: int
    epoch: int
    acquired_at: float
    renewed_at: float
    deadline: float
    #: seconds from the database's now to the deadline (<= 0: free to take)
    remaining_s: float

    @property
    def held(self) -> bool:
        return bool(self.holder) and self.remaining_s > 0


@dataclass(frozen=True)
class Takeover:
    """A lease just taken: the new record, and whom it was taken from."""

    record: LeaseRecord
    previous_holder: str
    #: how long before the takeover the previous holder's deadline passed (0 for a first holder)
    lapsed_s: float


def holder_name() -> str:
    """host:pid:nonce, unique even for two containers that share a host name and pid 1."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class PartitionLeases:
    def __init__(self, dsn: str, *, timeout_s: float = 5.0) -> None:
        # two connections: the keeper's renewals never wait behind the orders' pool
        self._db = PostgresDatabase(dsn, COMPONENT, MIGRATIONS, max_size=2, timeout_s=timeout_s)

    def acquire(self, partition: str, holder: str, lease_s: float) -> Takeover | None:
        """Take the partition if its deadline has passed (or ``holder`` has it already);
        None while another holder's lease runs."""
        with self._db.transaction() as db:
            # the first row of a partition, born lapsed; then one row lock decides among standbys
            db.execute("INSERT INTO partition_lease VALUES (%s, '', '', 0, 0, now(), now(), now())"
                       " ON CONFLICT (partition) DO NOTHING", (partition,))
            before = _record(db.execute(f"SELECT {_COLUMNS} FROM partition_lease WHERE partition = %s FOR UPDATE",
                                        (partition,)).fetchone())
            if before.held and before.holder != holder:
                return None
            after = _record(db.execute(
                "UPDATE partition_lease SET holder = %s, host = %s, pid = %s, epoch = epoch + 1, acquired_at = now(),"
                " renewed_at = now(), deadline = now() + make_interval(secs => %s)"
                f" WHERE partition = %s RETURNING {_COLUMNS}",
                (holder, socket.gethostname(), os.getpid(), lease_s, partition)).fetchone())
        return Takeover(after, before.holder, max(0.0, -before.remaining_s) if before.holder else 0.0)

    def renew(self, partition: str, holder: str, lease_s: float) -> bool:
        """Push the deadline ``lease_s`` ahead; False if the lease lapsed or another holds it."""
        with self._db.transaction() as db:
            renewed = db.execute(
                "UPDATE partition_lease SET renewed_at = now(), deadline = now() + make_interval(secs => %s)"
                " WHERE partition = %s AND holder = %s AND deadline > now()", (lease_s, partition, holder))
            return renewed.rowcount == 1

    def release(self, partition: str, holder: str) -> None:
        """End our lease now (a clean stop): the standby need not wait for the deadline."""
        with self._db.transaction() as db:
            db.execute("UPDATE partition_lease SET deadline = now() WHERE partition = %s AND holder = %s",
                       (partition, holder))

    def get(self, partition: str) -> LeaseRecord | None:
        row = self._db.read_one(f"SELECT {_COLUMNS} FROM partition_lease WHERE partition = %s", (partition,))
        return None if row is None else _record(row)

    def all(self) -> list[LeaseRecord]:
        return [_record(row) for row in self._db.read(f"SELECT {_COLUMNS} FROM partition_lease ORDER BY partition")]

    def close(self) -> None:
        self._db.close()


def _record(row: tuple[Any, ...] | None) -> LeaseRecord:
    assert row is not None  # the row exists: inserted above or selected by key
    partition, holder, host, pid, epoch, acquired, renewed, deadline, remaining = row
    return LeaseRecord(partition, holder, host, int(pid), int(epoch), float(acquired), float(renewed),
                       float(deadline), float(remaining))


__all__ = ["UNREACHABLE", "LeaseRecord", "PartitionLeases", "Takeover", "holder_name"]
