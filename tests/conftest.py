from __future__ import annotations

import itertools
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# Broker helpers live in tests/support; only that folder goes on sys.path, because
# tests/ itself holds folders named like the stage packages (tests/ingest, ...).
sys.path.insert(0, str(Path(__file__).resolve().parent / "support"))

from brokers import free_port, run_embedded_broker, run_mosquitto
from postgres import PostgresServer, create_database, run_postgres
from victoria import run_victoria_metrics


@pytest.fixture(autouse=True)
def no_cli_language_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's LIFESIGN_LANG never changes what the CLI says in a test (nor in the
    services the tests start, which inherit the environment)."""
    monkeypatch.delenv("LIFESIGN_LANG", raising=False)


@pytest.fixture
def mosquitto_port(tmp_path: Path) -> Iterator[int]:
    """A real mosquitto on 127.0.0.1, configured from configs/mosquitto.conf."""
    port = free_port()
    with run_mosquitto(port, tmp_path):
        yield port


@pytest.fixture
def embedded_broker_port() -> Iterator[int]:
    """The embedded pure-Python broker (the demo's), on 127.0.0.1."""
    port = free_port()
    with run_embedded_broker(port):
        yield port


@pytest.fixture
def victoria_url(tmp_path: Path) -> Iterator[str]:
    """A real single-node VictoriaMetrics on 127.0.0.1 (InfluxDB v2 write API, export API)."""
    with run_victoria_metrics(free_port(), tmp_path / "victoria-data") as server:
        yield server.url


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One real PostgreSQL for the session (initdb in a temporary folder, 127.0.0.1 only);
    each test gets its own database on it (``postgres_dsn``)."""
    with run_postgres(free_port()) as server:
        yield server


@pytest.fixture
def postgres_dsn(postgres_server: PostgresServer) -> str:
    """A fresh, empty database for this test."""
    return create_database(postgres_server, f"t{next(_DATABASES)}")


_DATABASES = itertools.count(1)
