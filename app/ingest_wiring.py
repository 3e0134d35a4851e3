"""Ingest as the service builds it: the history store named in site.yaml, the
spool beside it, the duplicate filter primed from the store, and the numbers
operators read (Prometheus ``/metrics`` and ``status.json`` for `lifesign status`)."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from app.site import HistorySettings, IngestSettings, MetricsSettings
from ingest.counters import COUNTS, GAUGES, IngestCounters
from ingest.historystores.segments import SegmentHistoryStore
from ingest.seen import SeenReadings
from ingest.spool import Spool
from ingest.window import DurabilityWindow
from lifesign.clock import Clock
from lifesign.readings import ReadingBatch
from lifesign.registry import Registry
from lifesign.stores import HistoryStore

log = logging.getLogger("lifesign.ingest")

HISTORY_DIR = "history"
SPOOL_DIR = "spool"
WINDOW_DIR = "window"
STATUS_FILE = "status.json"


def open_history_store(settings: HistorySettings, data_dir: Path, meter_ids: Sequence[str], *,
                       read_only: bool = False) -> HistoryStore:
    """The store site.yaml names; ``read_only`` for the CLI beside a running service."""
    if settings.kind == "influx":
        from ingest.historystores.influx import InfluxHistoryStore

        influx = settings.influx
        assert influx is not None  # site.yaml validation requires it for kind: influx
        return InfluxHistoryStore(influx.url, influx.token, influx.org, influx.bucket, list(meter_ids),
                                  reader=influx.reader)
    return SegmentHistoryStore(data_dir / HISTORY_DIR, meter_ids, read_only=read_only, fsync=settings.fsync)


def open_spool(settings: IngestSettings, data_dir: Path, meter_ids: Sequence[str]) -> Spool | None:
    if settings.spool_max_mb <= 0:
        return None
    return Spool(data_dir / SPOOL_DIR, meter_ids, int(settings.spool_max_mb * 1024 * 1024))


def open_window(history: HistorySettings, ingest: IngestSettings, data_dir: Path,
                meter_ids: Sequence[str]) -> DurabilityWindow | None:
    """The durability window of a history server that acks before it persists (influx kind)."""
    if history.kind != "influx" or history.influx is None or history.influx.durability_window_s <= 0:
        return None
    size = int(max(ingest.spool_max_mb, 64) * 1024 * 1024)
    return DurabilityWindow(data_dir / WINDOW_DIR, meter_ids, history.influx.durability_window_s, size)


def rebuild(store: HistoryStore, spool: Spool | None, since: float,
            window: DurabilityWindow | None = None) -> ReadingBatch:
    """What was kept before a restart: the store's readings since ``since`` plus the
    spool's and the durability window's, which the store may not have yet. Raises
    what the store raises when it is unreachable (then see :func:`local_readings`)."""
    return ReadingBatch.concat([store.read(start=since), local_readings(spool, window, since)])


def local_readings(spool: Spool | None, window: DurabilityWindow | None, since: float) -> ReadingBatch:
    """The readings kept on this host: enough to start detecting while the store is down."""
    parts = []
    for local in (spool, window):
        if local is not None and len(local):
            batch = local.read()
            parts.append(batch.take(batch.ts >= since))
    return ReadingBatch.concat(parts)


def seen_from(batch: ReadingBatch, registry: Registry, settings: IngestSettings) -> SeenReadings:
    seen = SeenReadings(registry.n_meters, settings.dedup_horizon_h * 3600.0, registry.meter_interval,
                        settings.max_rate.per_second(registry.meter_utility))
    seen.commit(batch)
    return seen


# -- what operators read --------------------------------------------------------
def write_status(data_dir: Path, counters: IngestCounters, extra: dict[str, Any]) -> None:
    """status.json, replaced atomically, so `lifesign status` never reads half a file."""
    target = data_dir / STATUS_FILE
    tmp = target.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(json.dumps({"ingest": counters.snapshot(), **extra}, indent=1, sort_keys=True))
    os.replace(tmp, target)


class _IngestCollector:
    """Prometheus collector reading the live counters (no second bookkeeping)."""

    def __init__(self, counters: IngestCounters, clock: Clock | None = None) -> None:
        self.counters = counters
        self.clock = clock

    def collect(self) -> Iterable[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        snapshot = self.counters.snapshot()
        for name, help_text in COUNTS.items():
            yield CounterMetricFamily(f"lifesign_ingest_{name}", help_text, value=float(snapshot[name]))  # type: ignore[arg-type]
        for name, help_text in GAUGES.items():
            yield GaugeMetricFamily(f"lifesign_ingest_{name}", help_text, value=float(snapshot[name]))  # type: ignore[arg-type]
        if self.clock is not None:
            # the number an alert rule wants: how far the newest stored reading is behind now
            newest = float(snapshot["newest_reading_ts"])  # type: ignore[arg-type]
            yield GaugeMetricFamily("lifesign_ingest_lag_seconds",
                                    "service clock minus the event time of the newest reading stored (NaN: none yet)",
                                    value=self.clock.now() - newest if newest else float("nan"))
        rejected = CounterMetricFamily("lifesign_ingest_rejected", "readings rejected, by reason", labels=["reason"])
        for reason, n in sorted(snapshot["rejected"].items()):  # type: ignore[attr-defined]
            rejected.add_metric([reason], float(n))
        yield rejected


class MetricsServer:
    """``/metrics`` on host:port, in a daemon thread; stopped with the service."""

    def __init__(self, settings: MetricsSettings, counters: IngestCounters, clock: Clock | None = None,
                 collectors: Sequence[Any] = ()) -> None:
        """``collectors``: more than ingest on the same endpoint (dispatch, the desk)."""
        from prometheus_client import CollectorRegistry, start_http_server

        self.registry = CollectorRegistry()
        self.registry.register(_IngestCollector(counters, clock))  # type: ignore[arg-type]
        for collector in collectors:
            self.registry.register(collector)
        self._server, self._thread = start_http_server(settings.port, addr=settings.host, registry=self.registry)
        self.port = int(self._server.server_address[1])

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


__all__ = ["MetricsServer", "local_readings", "open_history_store", "open_spool", "open_window", "rebuild",
           "seen_from",
           "write_status"]
