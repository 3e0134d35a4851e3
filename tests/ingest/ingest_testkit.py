"""Shared pieces of the ingest tests (a helper module: conftest modules are not importable by name)."""

from __future__ import annotations

import errno
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from brokers import free_port, run_mosquitto
from probes import MqttProbe, eventually  # noqa: F401  (re-exported for the ingest tests)

from ingest.decode import ReadingDecoder
from ingest.seen import SeenReadings
from ingest.subscriber import MqttIngestor
from lifesign.clock import ManualClock
from lifesign.grid import Address, Household, Meter, Resident, Tier, Utility
from lifesign.mqttclient import BrokerSettings
from lifesign.readings import ReadingBatch
from lifesign.registry import Registry

#: event time of the tests: a fixed instant, never the wall clock
NOW = 1_763_700_000.0


def _household(household_id: str, room: str) -> Household:
    return Household(
        household_id,
        Address("Jinqiao", "G-01", "B-01", "U-1", room),
        Resident(f"Resident {room}", 81, "13800000000", "13900000000"),
        Tier.RED,
    )


def make_registry() -> Registry:
    """Two homes on gateway GW-A (water + electricity, water only) and one on GW-B."""
    households = [
        _household("H-001", "101"),
        _household("H-002", "102"),
        _household("H-003", "201"),
    ]
    meters = [
        Meter("W-0001", "H-001", Utility.WATER, "GW-A"),
        Meter("E-0001", "H-001", Utility.ELECTRICITY, "GW-A"),
        Meter("W-0002", "H-002", Utility.WATER, "GW-A"),
        Meter("W-0003", "H-003", Utility.WATER, "GW-B"),
    ]
    return Registry.from_records(households, meters)


class RecordingSink:
    """A ReadingSink that keeps every batch it was given (the detector's place)."""

    def __init__(self) -> None:
        self.batches: list[ReadingBatch] = []
        self._lock = threading.Lock()

    def observe(self, batch: ReadingBatch) -> None:
        with self._lock:
            self.batches.append(batch)

    def points(self) -> list[tuple[int, float, float]]:
        with self._lock:
            seen = ReadingBatch.concat(list(self.batches))
        return list(zip(seen.meter.tolist(), seen.ts.tolist(), seen.value.tolist()))


class DiskFullHistoryStore:
    """A HistoryStore whose disk is full: every write fails the way the OS reports it,
    until ``free_space()``; then it stores into a real in-memory store."""

    def __init__(self) -> None:
        from ingest.historystores.memory import MemoryHistoryStore

        self.attempts = 0
        self.full = True
        self._inner = MemoryHistoryStore()

    def free_space(self) -> None:
        self.full = False

    def write(self, batch: ReadingBatch) -> None:
        self.attempts += 1
        if self.full:
            raise OSError(errno.ENOSPC, "No space left on device", "history")
        self._inner.write(batch)

    def read(self, start: float | None = None, end: float | None = None) -> ReadingBatch:
        return self._inner.read(start, end)

    def count(self) -> int:
        return self._inner.count()

    def close(self) -> None:
        pass




def state_arrays(detector: object) -> dict[str, object]:
    """Every numpy array of a detector's state (one level into its parts), by name:
    what "the detector state" means when two detectors are compared."""
    import numpy as np

    out: dict[str, object] = {}
    for name, part in vars(detector).items():
        if isinstance(part, np.ndarray):
            out[name] = part
        elif type(part).__module__.startswith("detectors") and hasattr(part, "__dict__"):
            for sub, value in vars(part).items():
                if isinstance(value, np.ndarray):
                    out[f"{name}.{sub}"] = value
    return out


def default_thresholds() -> object:
    """The thresholds the service ships with (app/defaults/thresholds.yaml)."""
    from importlib import resources

    from detectors.thresholds import Thresholds

    text = resources.files("app").joinpath("defaults/thresholds.yaml").read_text(encoding="utf-8")
    return Thresholds.parse(text, "app/defaults/thresholds.yaml")


@contextmanager
def hostile_rig(folder: Path, name: str, registry: Registry, store: Any) -> Iterator[tuple[Any, MqttProbe, MqttProbe]]:
    """A real mosquitto, an ingestor into ``store`` and two clients: (ingestor, gateway, the
    dead-letter topic's reader). Its valid readings need no rate check (hostile payloads are
    about decoding: test_plausible covers rates); everything is stopped on the way out."""
    port = free_port()
    with run_mosquitto(port, folder / "broker"):
        broker = BrokerSettings(port=port, client_id=f"{name}-ingest-{port}", keepalive_s=10)
        ingestor = MqttIngestor(broker, ReadingDecoder(registry), store, [RecordingSink()], ManualClock(NOW),
                                seen=SeenReadings(registry.n_meters, interval=registry.meter_interval))
        ingestor.start()
        assert ingestor.wait_subscribed(60)
        letters = MqttProbe(port, f"{name}-dead-letters", subscribe="lifesign/v1/_rejected/#")
        gateway = MqttProbe(port, f"{name}-gateway")
        try:
            yield ingestor, gateway, letters
        finally:
            gateway.close()
            letters.close()
            ingestor.stop()
