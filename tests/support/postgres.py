"""A real PostgreSQL for tests (Debian package ``postgresql``).

A plain helper, not a fixture: tests/conftest.py wires it. ``initdb`` makes a cluster
in a fresh temporary folder (in memory when there is room), ``postgres`` serves it on
127.0.0.1 at the port it is given (its socket in the same folder), and the context
manager stops the server and removes the folder also when the test failed. PostgreSQL
refuses to run as root, so under root (CI) both run as the ``postgres`` user the Debian
package creates.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

_STARTUP_TIMEOUT_S = 30.0
_STOP_TIMEOUT_S = 15.0
_SERVICE_USER = "postgres"
SUPERUSER = "lifesign"
#: Where the throwaway cluster goes when there is room: memory. Every test's database is a
#: copy of template1 (~8 MB of files and as much WAL; ~1 GB over the suite), and on a disk
#: other jobs write to, that copy took ~0.3 s a database and the server's stop at the end
#: of the session 5-28 s; in memory 0.04 s. Like fsync=off below, it only gives up what a
#: test server never needs (surviving the machine's power loss).
_IN_MEMORY = Path("/dev/shm")
#: ... only while it has this much free, so that the cluster never fills a small /dev/shm
#: (Docker's is 64 MB) nor takes much of a small machine's memory; else the system's temp dir
_IN_MEMORY_MIN_FREE = 4 * 1024**3


class PostgresUnavailable(RuntimeError):
    """The PostgreSQL binaries are missing or the server did not come up."""


def postgres_bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"),
                   key=lambda p: int(Path(p).parts[4]) if Path(p).parts[4].isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("postgres")
    if on_path is not None:
        return Path(on_path).parent
    raise PostgresUnavailable(
        "PostgreSQL is not installed: expected /usr/lib/postgresql/<version>/bin/postgres "
        "(apt-get install postgresql; scripts/test.sh installs it)")


@dataclass(frozen=True)
class PostgresServer:
    port: int
    folder: Path

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"


def _run_as() -> dict[str, object]:
    """Popen arguments that drop root for the service user; nothing when not root."""
    if os.geteuid() != 0:
        return {}
    try:
        entry = pwd.getpwnam(_SERVICE_USER)
    except KeyError:
        raise PostgresUnavailable(
            f"running as root and there is no {_SERVICE_USER!r} user to run PostgreSQL as "
            "(the Debian postgresql package creates it)") from None
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


@contextmanager
def run_postgres(port: int) -> Iterator[PostgresServer]:
    bin_dir = postgres_bin_dir()
    folder = Path(tempfile.mkdtemp(prefix="lifesign-pg-", dir=_cluster_parent()))
    as_user = _run_as()
    if as_user:
        os.chown(folder, int(as_user["user"]), int(as_user["group"]))  # type: ignore[call-overload]
    data, log = folder / "data", folder / "postgres.log"
    proc: subprocess.Popen[bytes] | None = None
    try:
        subprocess.run(
            [str(bin_dir / "initdb"), "-D", str(data), "-U", SUPERUSER, "--auth=trust",
             "-E", "UTF8", "--no-sync", "--no-instructions"],
            check=True, capture_output=True, cwd=folder, **as_user)  # type: ignore[call-overload]
        with log.open("ab") as log_file:
            if as_user:
                os.chown(log, int(as_user["user"]), int(as_user["group"]))  # type: ignore[call-overload]
            # fsync off: a test server's data need not survive power loss, and it is much faster
            proc = subprocess.Popen(  # type: ignore[call-overload]
                [str(bin_dir / "postgres"), "-D", str(data), "-k", str(folder), "-p", str(port),
                 "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                 "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                 "-c", "max_connections=200"],
                stdout=log_file, stderr=subprocess.STDOUT, cwd=folder, **as_user)
        server = PostgresServer(port, folder)
        _wait_ready(server, proc, log)
        yield server
    except subprocess.CalledProcessError as e:
        raise PostgresUnavailable(f"initdb failed: {e.stderr.decode(errors='replace')}") from e
    finally:
        if proc is not None:
            _stop(proc)
        shutil.rmtree(folder, ignore_errors=True)


def _cluster_parent() -> str | None:
    """The in-memory folder when it is there, writable and roomy; None: the temp dir."""
    try:
        fs = os.statvfs(_IN_MEMORY)
    except OSError:
        return None
    free = fs.f_bavail * fs.f_frsize
    return str(_IN_MEMORY) if free >= _IN_MEMORY_MIN_FREE and os.access(_IN_MEMORY, os.W_OK | os.X_OK) else None


def _wait_ready(server: PostgresServer, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + _STARTUP_TIMEOUT_S
    while True:
        if proc.poll() is not None:
            raise PostgresUnavailable(f"postgres exited with {proc.returncode}: "
                                      f"{log.read_text(errors='replace')[-2000:]}")
        try:
            psycopg.connect(server.dsn(), connect_timeout=2).close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise PostgresUnavailable(
                    f"postgres on 127.0.0.1:{server.port} did not accept connections within "
                    f"{_STARTUP_TIMEOUT_S:.0f} s: {log.read_text(errors='replace')[-2000:]}") from None
            time.sleep(0.1)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    # SIGINT is PostgreSQL's "fast shutdown": it ends sessions and exits cleanly
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def create_database(server: PostgresServer, name: str) -> str:
    """A fresh, empty database on the server; returns its DSN."""
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return server.dsn(name)
