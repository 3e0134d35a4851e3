"""Staff accounts of the desk (grid leaders, duty desks, operators), their sessions, and
the login throttle, in ``staff.sqlite`` beside the orders.

Passwords are hashed with scrypt (parameters kept with each hash, so they can be raised
later); a session is a random token of which only the SHA-256 is stored, with its own
CSRF token. Ten wrong passwords in a row for one name lock that name for a while that
doubles with each further failure: the next attempt is refused, unchecked, with the time
to wait (HTTP 429 and Retry-After at the desk).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
import sqlite3
import threading
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

STAFF_FILE = "staff.sqlite"
MIN_PASSWORD_CHARS = 10
#: wrong passwords in a row after which a name must wait before trying again
FREE_FAILURES = 10
LOCK_BASE_S = 30.0
LOCK_MAX_S = 900.0
SESSION_S = 12 * 3600.0
_SCRYPT = {"n": 2**15, "r": 8, "p": 1}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    name       TEXT PRIMARY KEY,
    role       TEXT NOT NULL,
    area       TEXT NOT NULL DEFAULT '',
    pw_hash    TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    token_sha  TEXT PRIMARY KEY,
    name       TEXT NOT NULL REFERENCES accounts (name),
    csrf       TEXT NOT NULL,
    expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS login_failures (
    name    TEXT PRIMARY KEY,
    count   INTEGER NOT NULL,
    last_at REAL NOT NULL
);
"""


class StaffRole(str, Enum):
    OPERATOR = "operator"  # everything
    DESK = "desk"  # a community's duty desk: that community
    LEADER = "leader"  # a grid leader (网格长): that grid


@dataclass(frozen=True)
class StaffAccount:
    name: str
    role: StaffRole
    #: the community of a desk, the grid of a leader; "" for an operator
    area: str = ""

    def sees(self, community: str, grid: str) -> bool:
        if self.role is StaffRole.OPERATOR:
            return True
        return self.area == (community if self.role is StaffRole.DESK else grid)


@dataclass(frozen=True)
class StaffSession:
    token: str
    account: StaffAccount
    csrf: str
    expires_at: float


class LoginRefused(PermissionError):
    """Wrong name or password (``retry_after_s`` 0), or a name locked by repeated failures."""

    def __init__(self, retry_after_s: float = 0.0) -> None:
        self.retry_after_s = retry_after_s
        super().__init__("too many wrong passwords: wait before trying again" if retry_after_s
                         else "wrong name or password")


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, maxmem=128 * 1024 * 1024, dklen=32, **_SCRYPT)
    params = f"{_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}"
    return f"scrypt${params}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """
    >>> verify_password("correct horse", hash_password("correct horse")), verify_password("x", "scrypt$bad")
    (True, False)
    """
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        expected = base64.urlsafe_b64decode(digest + "==")
        got = hashlib.scrypt(password.encode(), salt=base64.urlsafe_b64decode(salt + "=="), n=int(n), r=int(r),
                             p=int(p), maxmem=128 * 1024 * 1024, dklen=len(expected))
    except ValueError:
        return False
    return scheme == "scrypt" and hmac.compare_digest(got, expected)


def lock_s(failures: int) -> float:
    """How long a name waits after ``failures`` wrong passwords in a row.

    >>> lock_s(9), lock_s(10), lock_s(11), lock_s(30)
    (0.0, 30.0, 60.0, 900.0)
    """
    if failures < FREE_FAILURES:
        return 0.0
    return min(LOCK_BASE_S * 2.0 ** (failures - FREE_FAILURES), LOCK_MAX_S)


@functools.cache
def _dummy_hash() -> str:
    """Checked against for unknown names, so they cost as much time as known ones."""
    return hash_password(secrets.token_hex(8))


class StaffStore:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._conn = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False, timeout=10)
        self._lock = threading.Lock()
        self._conn.execute("PRAGMA journal_mode = WAL")
        with self._lock:
            self._conn.executescript(_SCHEMA)
        #: since start, for /metrics
        self.failed_logins = 0
        self.throttled_logins = 0

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # -- accounts --------------------------------------------------------------
    def add(self, name: str, role: StaffRole, area: str, password: str, at: float) -> StaffAccount:
        role = StaffRole(role)
        if len(password) < MIN_PASSWORD_CHARS:
            raise ValueError(f"a password must have at least {MIN_PASSWORD_CHARS} characters, got {len(password)}")
        if role is StaffRole.OPERATOR and area:
            raise ValueError(f"an operator sees every community, so takes no area, got {area!r}")
        if role is not StaffRole.OPERATOR and not area:
            what = "community" if role is StaffRole.DESK else "grid"
            raise ValueError(f"a {role.value} account needs its {what} (--{what})")
        with self._lock:
            try:
                self._conn.execute("INSERT INTO accounts VALUES (?, ?, ?, ?, ?)",
                                   (name, role.value, area, hash_password(password), at))
            except sqlite3.IntegrityError:
                raise ValueError(f"a staff account named {name!r} already exists") from None
        return StaffAccount(name, role, area)

    def get(self, name: str) -> StaffAccount | None:
        with self._lock:
            row = self._conn.execute("SELECT name, role, area FROM accounts WHERE name = ?", (name,)).fetchone()
        return None if row is None else StaffAccount(row[0], StaffRole(row[1]), row[2])

    def accounts(self) -> list[StaffAccount]:
        with self._lock:
            rows = self._conn.execute("SELECT name, role, area FROM accounts ORDER BY name").fetchall()
        return [StaffAccount(r[0], StaffRole(r[1]), r[2]) for r in rows]

    # -- logging in --------------------------------------------------------------
    def failures(self, name: str) -> int:
        with self._lock:
            row = self._conn.execute("SELECT count FROM login_failures WHERE name = ?", (name,)).fetchone()
        return 0 if row is None else int(row[0])

    def login(self, name: str, password: str, at: float) -> StaffSession:
        with self._lock:
            row = self._conn.execute("SELECT count, last_at FROM login_failures WHERE name = ?", (name,)).fetchone()
            stored = self._conn.execute("SELECT pw_hash FROM accounts WHERE name = ?", (name,)).fetchone()
        if row is not None:
            wait = row[1] + lock_s(int(row[0])) - at
            if wait > 0:
                self.throttled_logins += 1
                raise LoginRefused(retry_after_s=wait)
        ok = verify_password(password, stored[0] if stored else _dummy_hash()) and stored is not None
        with self._lock:
            if not ok:
                self._conn.execute(
                    "INSERT INTO login_failures VALUES (?, 1, ?) ON CONFLICT (name)"
                    " DO UPDATE SET count = count + 1, last_at = excluded.last_at", (name, at))
            else:
                self._conn.execute("DELETE FROM login_failures WHERE name = ?", (name,))
        if not ok:
            self.failed_logins += 1
            raise LoginRefused()
        account = self.get(name)
        assert account is not None
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
        with self._lock:
            self._conn.execute("DELETE FROM sessions WHERE expires_at <= ?", (at,))
            self._conn.execute("INSERT INTO sessions VALUES (?, ?, ?, ?)", (_sha(token), name, csrf, at + SESSION_S))
        return StaffSession(token, account, csrf, at + SESSION_S)

    def session(self, token: str, at: float) -> StaffSession | None:
        if not token:
            return None
        with self._lock:
            row = self._conn.execute(
                "SELECT a.name, a.role, a.area, s.csrf, s.expires_at FROM sessions s JOIN accounts a USING (name)"
                " WHERE s.token_sha = ? AND s.expires_at > ?", (_sha(token), at)).fetchone()
        if row is None:
            return None
        return StaffSession(token, StaffAccount(row[0], StaffRole(row[1]), row[2]), row[3], float(row[4]))

    def logout(self, token: str) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM sessions WHERE token_sha = ?", (_sha(token),))


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


__all__ = ["STAFF_FILE", "LoginRefused", "StaffAccount", "StaffRole", "StaffSession", "StaffStore",
           "hash_password", "lock_s", "verify_password"]
