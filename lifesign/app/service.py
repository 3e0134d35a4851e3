"""The service wiring: the one place that knows every stage.

ingest (MQTT → history store + detector state) → detector sweep on a clock →
dispatch (work orders, deliveries, escalation). Periodic jobs run on APScheduler
and read time only from the :class:`~lifesign.clock.Clock`, so the same wiring
serves the real service (wall clock) and the accelerated demo (manual clock).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import paho.mqtt.client as mqtt
from apscheduler.schedulers.background import BackgroundScheduler

from detectors.detector import Detector
from dispatch.channels.base import Channel
from dispatch.channels.console import ConsoleChannel
from dispatch.channels.mqtt import MqttChannel
from dispatch.dispatcher import Dispatcher
from dispatch.orderstores.sqlite import SqliteWorkOrderStore
from ingest.historystores.sqlite import SqliteHistoryStore
from ingest.subscriber import MqttIngestor
from lifesign.clock import Clock
from lifesign.config.errors import ConfigError
from lifesign.registry import Registry
from lifesign.roster import Roster
from lifesign.site import BrokerSettings, DispatchSettings, ScheduleSettings, SiteConfig
from lifesign.thresholds import Thresholds
from lifesign.wire import DecodePolicy, ReadingDecoder
from lifesign.workorders import WorkOrder

log = logging.getLogger("lifesign.service")

HISTORY_FILE = "history.sqlite"
#: history replayed at start beyond the longest threshold, for the activity before a silence
REPLAY_MARGIN_S = 86400.0
ORDERS_FILE = "orders.sqlite"


@dataclass(frozen=True)
class ServiceParts:
    """Everything the service needs, already loaded and validated."""

    broker: BrokerSettings
    registry: Registry
    roster: Roster
    thresholds: Thresholds
    data_dir: Path
    schedule: ScheduleSettings
    dispatch: DispatchSettings
    max_future_s: float = 300.0
    #: watched for hot reload; None when thresholds came from elsewhere (demo defaults)
    thresholds_path: Path | None = None

    @classmethod
    def from_site(cls, site: SiteConfig) -> ServiceParts:
        registry = Registry.load(site.households_csv, site.meters_csv)
        roster = Roster.load(site.roster)
        thresholds = Thresholds.load(site.thresholds)
        return cls(
            broker=site.broker, registry=registry, roster=roster, thresholds=thresholds,
            data_dir=site.data_dir, schedule=site.schedule, dispatch=site.dispatch,
            max_future_s=site.max_future_s, thresholds_path=site.thresholds,
        )


class Service:
    def __init__(self, parts: ServiceParts, clock: Clock, *, console: TextIO | None = None) -> None:
        self.parts = parts
        self.clock = clock
        parts.data_dir.mkdir(parents=True, exist_ok=True)
        self.history = SqliteHistoryStore(parts.data_dir / HISTORY_FILE)
        self.orders = SqliteWorkOrderStore(parts.data_dir / ORDERS_FILE)
        self.detector = Detector(parts.registry, parts.thresholds)
        self._publisher = _connect_publisher(parts.broker)
        channels: list[Channel] = [MqttChannel(self._publisher)]
        if parts.dispatch.console:
            channels.append(ConsoleChannel(console))
        self.dispatcher = Dispatcher(
            self.orders, parts.registry, parts.roster, channels, clock,
            {tier: minutes * 60.0 for tier, minutes in parts.dispatch.ack_deadline_minutes.items()},
        )
        self.ingestor = MqttIngestor(
            parts.broker,
            ReadingDecoder(parts.registry, DecodePolicy(max_future_s=parts.max_future_s)),
            self.history, [self.detector], clock,
        )
        self.scheduler = BackgroundScheduler(timezone="UTC")
        self._thresholds_mtime = _mtime(parts.thresholds_path)
        # Jobs touch the detector and the order store; one lock keeps a manual
        # sweep (demo, tests) from interleaving with a scheduled one.
        self._jobs_lock = threading.Lock()

    # -- jobs -----------------------------------------------------------------
    def sweep(self) -> list[WorkOrder]:
        """Detector sweep → dispatch → deliveries; returns the orders it created."""
        with self._jobs_lock:
            now = self.clock.now()
            alerts = self.detector.sweep(now)
            created = self.dispatcher.handle(alerts) if alerts else []
            # Reconcile: an episode still open without its own order (dispatch failed last
            # time, or it was folded into an order since resolved) is handed over again.
            # Opening is idempotent on the episode key, so this never duplicates an order.
            orphans = [a for a in self.detector.open_alerts(now) if self.orders.find(a.key) is None]
            if orphans:
                created += self.dispatcher.handle(orphans)
            self.dispatcher.deliver_pending()
            return created

    def escalate(self) -> None:
        with self._jobs_lock:
            self.dispatcher.escalate_due()
            self.dispatcher.deliver_pending()

    def reload_thresholds(self) -> bool:
        """Apply a changed thresholds file; an invalid one is logged and the old kept."""
        path = self.parts.thresholds_path
        mtime = _mtime(path)
        if path is None or mtime == self._thresholds_mtime:
            return False
        self._thresholds_mtime = mtime
        try:
            thresholds = Thresholds.load(path)
            self.detector.apply_thresholds(thresholds)
        except (ConfigError, LookupError) as exc:
            log.error("thresholds not reloaded, previous ones kept: %s", exc)
            return False
        log.info("thresholds reloaded from %s", path)
        return True

    # -- lifecycle ------------------------------------------------------------
    def replay_history(self) -> int:
        """Rebuild detector state from the history store (restart, kill -9): the silence
        seen before the restart still counts, and episode keys come out the same."""
        longest = float(self.detector.households.threshold_s.max(initial=0.0))
        since = self.clock.now() - longest - REPLAY_MARGIN_S
        readings = self.history.read(start=since)
        self.detector.observe(readings)
        return len(readings)

    def start(self) -> None:
        replayed = self.replay_history()
        if replayed:
            log.info("detector state rebuilt from %d stored readings", replayed)
        self.ingestor.start()
        schedule = self.parts.schedule
        self.scheduler.add_job(self.sweep, "interval", seconds=schedule.sweep_s, id="sweep",
                               max_instances=1, coalesce=True)
        self.scheduler.add_job(self.escalate, "interval", seconds=schedule.escalation_s, id="escalate",
                               max_instances=1, coalesce=True)
        if self.parts.thresholds_path is not None:
            self.scheduler.add_job(self.reload_thresholds, "interval", seconds=schedule.reload_s,
                                   id="reload", max_instances=1, coalesce=True)
        self.scheduler.start()
        log.info("lifesign service started: %d households, %d meters", self.parts.registry.n_households,
                 self.parts.registry.n_meters)

    def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        self.ingestor.stop()
        self._publisher.loop_stop()
        self._publisher.disconnect()
        self.history.close()
        self.orders.close()

    def wait_idle(self, timeout: float) -> bool:
        return self.ingestor.wait_idle(timeout)


def _connect_publisher(broker: BrokerSettings) -> mqtt.Client:
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2, client_id=f"{broker.client_id}-dispatch",
        protocol=mqtt.MQTTv311,
    )
    if broker.username:
        client.username_pw_set(broker.username, broker.password)
    client.reconnect_delay_set(1, 30)
    client.connect(broker.host, broker.port, keepalive=broker.keepalive_s)
    client.loop_start()
    return client


def _mtime(path: Path | None) -> float | None:
    if path is None:
        return None
    try:
        return path.stat().st_mtime_ns / 1e9
    except FileNotFoundError:
        return None


def open_orders_store(data_dir: Path) -> SqliteWorkOrderStore:
    return SqliteWorkOrderStore(data_dir / ORDERS_FILE)


__all__ = ["Service", "ServiceParts", "open_orders_store"]
