"""Local fixtures of the ingest tests: a small hand-made registry and each real broker."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from crashkit import ServiceProcess
from ingest_testkit import make_registry

from lifesign.mqttclient import BrokerSettings
from lifesign.registry import Registry


@pytest.fixture
def registry() -> Registry:
    return make_registry()


@pytest.fixture
def mosquitto_broker(mosquitto_port: int) -> BrokerSettings:
    """Settings for a real mosquitto only: the guarantees that rest on the broker
    resending unacked QoS 1 messages (amqtt 0.12, the demo broker, drops them)."""
    return BrokerSettings(
        host="127.0.0.1", port=mosquitto_port, client_id=f"lifesign-ingest-mosquitto-{mosquitto_port}", keepalive_s=10
    )


@pytest.fixture(params=["mosquitto", "embedded"])
def mqtt_broker(request: pytest.FixtureRequest) -> BrokerSettings:
    """The ingestor's settings for a real broker on a free 127.0.0.1 port (the lead's fixtures start and stop it)."""
    kind = request.param
    port = request.getfixturevalue(
        "mosquitto_port" if kind == "mosquitto" else "embedded_broker_port"
    )
    return BrokerSettings(
        host="127.0.0.1", port=port, client_id=f"lifesign-ingest-{kind}-{port}", keepalive_s=10
    )


@pytest.fixture
def service_processes() -> Iterator[Callable[..., ServiceProcess]]:
    """Makes service child processes (crashkit.ServiceProcess); kills and reaps every one
    at teardown, also when the test failed."""
    made: list[ServiceProcess] = []

    def make(folder: Path, port: int, influx: str | None = None) -> ServiceProcess:
        made.append(ServiceProcess(folder, port, influx))
        return made[-1]

    try:
        yield make
    finally:
        for child in made:
            child.close()
