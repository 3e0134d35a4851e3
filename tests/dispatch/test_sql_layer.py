"""The SQL both dispatch stores share (dispatch/sql.py) keeps a SQLite site free of
psycopg: ``pip install lifesign`` without the postgres extra must run."""

from __future__ import annotations

import subprocess
import sys

_IMPORT_THE_SQLITE_STORES = """
import sys
import dispatch.mutes.store, dispatch.orderstores, dispatch.orderstores.sqlite
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("psycopg", "psycopg_pool"))
print(",".join(loaded))
"""


def test_the_sqlite_stores_load_no_postgresql_driver() -> None:
    out = subprocess.run([sys.executable, "-c", _IMPORT_THE_SQLITE_STORES], check=True,
                         capture_output=True, text=True, timeout=60).stdout
    assert out.strip() == ""
