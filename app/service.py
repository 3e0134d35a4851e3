"""The service wiring: the one place that knows every stage.

ingest (MQTT → history store + detector state) → detector sweep on a clock →
dispatch (work orders, deliveries, escalation). Periodic jobs run on APScheduler
and read time only from the :class:`~lifesign.clock.Clock`, so the same wiring
serves the real service (wall clock) and the accelerated demo (manual clock).
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field, replace
from datetime import tzinfo
from pathlib import Path
from typing import TextIO

import paho.mqtt.client as mqtt
from apscheduler.schedulers.background import BackgroundScheduler

from app.dispatch_metrics import DispatchCollector, SweepTimer
from app.dispatch_wiring import build_dispatcher
from app.ingest_wiring import (
    MetricsServer,
    local_readings,
    open_history_store,
    open_spool,
    open_window,
    rebuild,
    seen_from,
    write_status,
)
from app.order_topics import OrderStatePublisher
from app.partitions import PartitionSettings, choose_partition, partition_registry
from app.routines_file import ROUTINES_FILE, load_routines, save_routines
from app.site import (
    DispatchSettings,
    HistorySettings,
    IngestSettings,
    MetricsSettings,
    OrdersSettings,
    ScheduleSettings,
    SiteConfig,
)
from app.site_check import check_site
from app.store_wiring import ORDERS_FILE, open_dispatch_stores
from app.wakeup import DeadlineLoop
from app.web.settings import WebSettings
from app.web_wiring import WebDesk
from detectors.detector import Detector
from detectors.thresholds import Thresholds
from dispatch.orderstores.sqlite import SqliteWorkOrderStore
from ingest.decode import DecodePolicy, ReadingDecoder
from ingest.subscriber import MqttIngestor
from lifesign.clock import DEFAULT_TIMEZONE, Clock, parse_timezone
from lifesign.config.errors import ConfigError
from lifesign.mqttclient import BrokerSettings, connect_and_wait, make_client
from lifesign.readings import ReadingBatch
from lifesign.registry import Registry
from lifesign.roster import Roster
from lifesign.wire import READINGS_SUBSCRIPTION, readings_topic
from lifesign.workorders import WorkOrder

log = logging.getLogger("lifesign.service")

#: history replayed at start beyond the longest threshold, for the activity before a silence
REPLAY_MARGIN_S = 86400.0
#: how often what the detector learned of the homes' routines is saved (and on stop)
ROUTINES_SAVE_S = 600.0
#: how long start() waits for the broker to grant the readings subscription (a bound, not a pace)
SUBSCRIBE_WAIT_S = 30.0


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
    ingest: IngestSettings = field(default_factory=IngestSettings)
    history: HistorySettings = field(default_factory=HistorySettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    orders: OrdersSettings = field(default_factory=OrdersSettings)
    #: watched for hot reload; None when thresholds came from elsewhere (demo defaults)
    thresholds_path: Path | None = None
    #: the site's local time (site.yaml `timezone:`): tickets, muters; roster and thresholds got it at load
    timezone: str = DEFAULT_TIMEZONE
    #: the site file, named when a reloaded thresholds file disagrees with its timezone
    site_file: str = "site.yaml"
    #: the staff web desk (site.yaml `web:`); None: not served
    web: WebSettings | None = None
    #: site.yaml `language:`, the words on tickets
    language: str = "en"
    #: the communities this instance watches (`lifesign run --partition`); None: the whole registry
    partition: PartitionSettings | None = None

    @property
    def tz(self) -> tzinfo:
        return parse_timezone(self.timezone)

    @property
    def readings_topics(self) -> tuple[str, ...]:
        """Every gateway's readings, or only those of the partition's gateways."""
        if self.partition is None:
            return (READINGS_SUBSCRIPTION,)
        return tuple(readings_topic(g) for g in self.registry.gateway_ids)

    @classmethod
    def from_site(cls, site: SiteConfig, partition_name: str | None = None) -> ServiceParts:
        """``partition_name``: required when site.yaml has partitions; then the registry, the
        thresholds' overrides and the broker's client id are that partition's."""
        partition = choose_partition(site.partitions, partition_name, site.source)
        city = Registry.load(site.households_csv, site.meters_csv)
        roster = Roster.load(site.roster, site.timezone, site.source)
        thresholds = Thresholds.load(site.thresholds, site.timezone, site.source)
        # the same check as `lifesign config check`, on the whole city
        for warning in check_site(city, roster, thresholds, site.partitions):
            log.warning("%s: %s", site.source, warning)
        registry = partition_registry(city, partition)
        broker = site.broker
        if partition is not None:
            thresholds = thresholds.within(registry)
            # the partition's own persistent session: the broker queues its readings while no instance holds it
            broker = replace(broker, client_id=f"{broker.client_id}-{partition.name}")
        return cls(
            broker=broker, registry=registry, roster=roster, thresholds=thresholds, partition=partition,
            data_dir=site.data_dir, schedule=site.schedule, dispatch=site.dispatch,
            ingest=site.ingest, history=site.history, metrics=site.metrics, orders=site.orders,
            thresholds_path=site.thresholds, timezone=site.timezone, site_file=site.source, web=site.web,
            language=site.language,
        )


class Service:
    def __init__(self, parts: ServiceParts, clock: Clock, *, console: TextIO | None = None,
                 session_clock: Clock | None = None) -> None:
        """``session_clock``: the desk's staff sessions and login throttle (default: real time)."""
        self.parts = parts
        self.clock = clock
        # Private by default: the folder holds residents' names, phones and addresses
        # (orders.sqlite) and their daily lives (readings). `lifesign run` also sets
        # umask 077, so everything inside is 0600; an older folder is closed here.
        parts.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(parts.data_dir, 0o700)
        meter_ids = [str(m) for m in parts.registry.meter_ids]
        self.history = open_history_store(parts.history, parts.data_dir, meter_ids)
        self.spool = open_spool(parts.ingest, parts.data_dir, meter_ids)
        self.window = open_window(parts.history, parts.ingest, parts.data_dir, meter_ids)
        # orders, ledger, outbox and mutes: SQLite in data_dir (0600 files), or PostgreSQL (site.yaml orders:)
        self.orders, self.mutes = open_dispatch_stores(parts.orders, parts.data_dir)
        self.detector = Detector(parts.registry, parts.thresholds)
        self._publisher = _connect_publisher(parts.broker)
        self.dispatcher = build_dispatcher(parts.dispatch, self.orders, self.mutes, parts.registry,
                                           parts.roster, clock, self._publisher, console, tz=parts.tz,
                                           language=parts.language)
        self.ingestor = MqttIngestor(
            parts.broker,
            ReadingDecoder(parts.registry, DecodePolicy(max_future_s=parts.ingest.max_future_s,
                                                         max_past_s=parts.ingest.max_past_days * 86400.0,
                                                         max_value=parts.ingest.max_value,
                                                         max_rate=parts.ingest.max_rate)),
            self.history, [self.detector, _PokeOnData(self)], clock, spool=self.spool, window=self.window,
            max_pending_messages=parts.ingest.max_pending_messages, max_pending_bytes=parts.ingest.max_pending_bytes,
            dead_letter_limits=parts.ingest.dead_letters,
            topics=parts.readings_topics,
        )
        self.order_states = OrderStatePublisher(self.orders, self._publisher, parts.registry)
        #: more for status.json (the partition and its lease, set by `lifesign run --partition`)
        self.status_extra: dict[str, object] = {}
        self.metrics: MetricsServer | None = None
        self.sweeps = SweepTimer()
        self.web: WebDesk | None = None
        if parts.web is not None:
            self.web = WebDesk(parts.web, parts.data_dir, orders=self.orders, mutes=self.mutes,
                               dispatcher=self.dispatcher, history=self.history, clock=clock, tz=parts.tz,
                               open_episodes=self.detector.open_alerts, session_clock=session_clock)
        self.scheduler = BackgroundScheduler(timezone="UTC")
        # sweep and escalation wake at the next deadline the detector and the order store know
        # (and on new data); the schedule's periods remain only as a safety net
        self.sweeper = DeadlineLoop("sweep", self.sweep, self.detector.next_deadline, clock,
                                    parts.schedule.sweep_s)
        self.escalator = DeadlineLoop("escalate", self.escalate, self.dispatcher.next_escalation_at, clock,
                                      parts.schedule.escalation_s)
        #: the files whose change means "reload": the thresholds file and what it includes
        self._watched = _watch_list(parts.thresholds_path, parts.thresholds.includes)
        self._thresholds_mtime = _stamp(self._watched)
        # Jobs touch the detector and the order store; one lock keeps a manual
        # sweep (demo, tests) from interleaving with a scheduled one.
        self._jobs_lock = threading.Lock()

    # -- jobs -----------------------------------------------------------------
    def sweep(self) -> list[WorkOrder]:
        """Detector sweep → dispatch → deliveries; returns the orders it created."""
        with self._jobs_lock, self.sweeps:
            now = self.clock.now()
            alerts = self.detector.sweep(now)
            # Reconcile: an episode still open without its own order (dispatch failed last
            # time, or it was folded into an order since resolved) is handed over again.
            # Opening is idempotent on the episode key, so this never duplicates an order.
            swept = {a.key for a in alerts}
            orphans = [a for a in self.detector.open_alerts(now)
                       if a.key not in swept and self.orders.find(a.key) is None]
            # one pass of the chain a sweep, also without alerts: its review releases
            # held and muted alerts whose reason has gone, and finds storms
            created = self.dispatcher.handle([*alerts, *orphans])
            self.dispatcher.deliver_pending()
            self.order_states.publish_changes()
        if created:
            self.escalator.poke()  # a new order brings a new acknowledgement deadline
        return created

    def escalate(self) -> None:
        with self._jobs_lock:
            self.dispatcher.escalate_due()
            self.dispatcher.deliver_pending()
            self.order_states.publish_changes()

    def reload_thresholds(self) -> bool:
        """Apply a changed thresholds file; an invalid one is logged and the old kept."""
        path = self.parts.thresholds_path
        # an included file (reviewed `lifesign learn` output) changing is a change too
        mtime = _stamp(self._watched)
        if path is None or mtime == self._thresholds_mtime:
            return False
        try:
            thresholds = Thresholds.load(path, self.parts.timezone, self.parts.site_file)
            if self.parts.partition is not None:
                thresholds = thresholds.within(self.parts.registry)  # the other partitions' overrides
            self.detector.apply_thresholds(thresholds)
        except (ConfigError, LookupError) as exc:
            log.error("thresholds not reloaded, previous ones kept: %s", exc)
            # the broken part may be a file it now includes, unknown until it parses: watch
            # every YAML file beside it too, so mending that file is seen (and logged once)
            self._watched = tuple(dict.fromkeys(
                (*self._watched, *sorted(path.parent.glob("*.y*ml")))))
            self._thresholds_mtime = _stamp(self._watched)
            return False
        # the new file may include other files than the old one did: watch those from now on
        self._watched = _watch_list(path, thresholds.includes)
        self._thresholds_mtime = _stamp(self._watched)
        log.info("thresholds reloaded from %s", path)
        return True

    # -- lifecycle ------------------------------------------------------------
    def save_routines(self) -> None:
        """What the detector learned of each home's routine, kept for the next start."""
        save_routines(self.parts.data_dir, self.detector.routines())

    def replay_history(self) -> int:
        """Rebuild detector state from the history store (restart, kill -9): the silence
        seen before the restart still counts, and episode keys come out the same. The homes'
        routines come back first, so the rebuild does not teach them twice."""
        saved = load_routines(self.parts.data_dir)
        if saved is not None:
            restored = self.detector.restore_routines(saved)
            log.info("routines of %d households restored from %s", restored, ROUTINES_FILE)
        longest = self.detector.longest_threshold_s
        now = self.clock.now()
        horizon = self.parts.ingest.dedup_horizon_h * 3600.0
        since = now - max(longest + REPLAY_MARGIN_S, horizon)
        try:
            readings = rebuild(self.history, self.spool, since, self.window)
        except OSError as down:
            log.error("history store unreachable at start (%s): detecting from the local spool until it is "
                      "back; readings go to the spool meanwhile", down)
            self.ingestor.keeper.mark_down(down)
            readings = local_readings(self.spool, self.window, since)
        self.detector.observe(readings)
        # the duplicate filter learns what is stored, so a redelivery after the restart is recognised
        self.ingestor.seen = seen_from(readings, self.parts.registry, self.parts.ingest)
        return len(readings)

    def compact_history(self) -> None:
        """Compaction of finished history days (embedded store): its own job, so a long
        merge delays neither status.json nor ingest, which keeps writing meanwhile."""
        compact = getattr(self.history, "compact", None)
        if compact is not None:
            compact(self.clock.now())

    def write_status(self) -> None:
        """status.json for `lifesign status`."""
        now = self.clock.now()
        # staff act from other processes (CLI, desk): their changes reach the order topics from here
        with self._jobs_lock:
            self.order_states.publish_changes()
        write_status(self.parts.data_dir, self.ingestor.counters, {
            "at": now, "households": self.parts.registry.n_households, "meters": self.parts.registry.n_meters,
            "history": self.parts.history.kind, **self.status_extra,
        })

    def start(self) -> int:
        """Replay history, then ingest and run the jobs; the number of readings replayed."""
        replayed = self.replay_history()
        if replayed:
            log.info("detector state rebuilt from %d stored readings", replayed)
        if self.web is not None:
            self.web.start()  # before any delivery: links need the bound address
            log.info("staff desk at %s", self.web.url)
        self.ingestor.start()
        # readings published before the broker grants the subscription of a new session are not
        # queued for us: "running" means subscribed (a takeover's end, for the standby)
        if not self.ingestor.wait_subscribed(SUBSCRIBE_WAIT_S):
            log.warning("the broker has not granted the readings subscription within %g s", SUBSCRIBE_WAIT_S)
        if self.parts.metrics.port:
            collector = DispatchCollector(self.orders, self.sweeps, self.web.staff if self.web else None)
            self.metrics = MetricsServer(self.parts.metrics, self.ingestor.counters, self.clock, [collector])
        schedule = self.parts.schedule
        self.scheduler.add_job(self.write_status, "interval", seconds=schedule.status_s, id="status",
                               max_instances=1, coalesce=True)
        self.scheduler.add_job(self.compact_history, "interval", seconds=schedule.status_s, id="compact",
                               max_instances=1, coalesce=True)
        self.scheduler.add_job(self.save_routines, "interval", seconds=ROUTINES_SAVE_S, id="routines",
                               max_instances=1, coalesce=True)
        if self.parts.thresholds_path is not None:
            self.scheduler.add_job(self.reload_thresholds, "interval", seconds=schedule.reload_s,
                                   id="reload", max_instances=1, coalesce=True)
        self.scheduler.start()
        self.sweeper.start()
        self.escalator.start()
        log.info("lifesign service started: %d households, %d meters", self.parts.registry.n_households,
                 self.parts.registry.n_meters)
        return replayed

    def stop(self) -> None:
        # the broker first: an instance that lost its partition's lease lets go of the
        # partition's client id (and acks nothing more) before anything else
        self.ingestor.stop()
        if self.web is not None:
            self.web.stop()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        self.sweeper.stop()
        self.escalator.stop()
        try:
            self.save_routines()
        except OSError as failed:
            log.error("routines not saved (%s): homes relearn them after the restart", failed)
        if self.metrics is not None:
            self.metrics.stop()
        # disconnect first: it wakes the network thread, which then ends at once (stopped
        # first, the thread sleeps out its 1 s select before it looks)
        self._publisher.disconnect()
        self._publisher.loop_stop()
        self.history.close()
        for local in (self.spool, self.window):
            if local is not None:
                local.close()
        self.orders.close()
        self.mutes.close()

    def wait_idle(self, timeout: float) -> bool:
        return self.ingestor.wait_idle(timeout)


class _PokeOnData:
    """The last ingest sink: a durable batch wakes the sweep (after the detector saw it)."""

    def __init__(self, service: Service) -> None:
        self._service = service

    def observe(self, batch: ReadingBatch) -> None:
        self._service.sweeper.poke()


def _connect_publisher(broker: BrokerSettings) -> mqtt.Client:
    client = make_client(broker, f"{broker.client_id}-dispatch")
    connect_and_wait(client, broker)  # refused credentials stop the start, with the broker's reason
    return client


def _watch_list(path: Path | None, includes: tuple[str, ...]) -> tuple[Path, ...]:
    return () if path is None else (path, *(Path(p) for p in includes))


def _stamp(files: tuple[Path, ...]) -> tuple[float | None, ...]:
    return tuple(_mtime(p) for p in files)


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
