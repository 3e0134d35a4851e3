"""The service's own config: where the broker, registry, roster and stores are.

``site.yaml`` (paths are relative to the file's folder)::

    broker:
      host: 127.0.0.1
      port: 1883
      client_id: lifesign-ingest   # fixed, so the broker keeps our session across restarts
      keepalive_s: 30
      username: ...                # optional
      password: ...                # optional
    registry:
      households: registry/households.csv
      meters: registry/meters.csv
    roster: roster.yaml
    thresholds: thresholds.yaml
    data_dir: var                  # history.sqlite and orders.sqlite live here
    timezone: Asia/Shanghai        # IANA zone of the site's local time (default Asia/Shanghai):
                                   # tickets, shifts and leave, no_usage windows, "a day"
    schedule:
      sweep_s: 10                  # detector sweep
      escalation_s: 30             # escalation check
      reload_s: 5                  # thresholds hot reload check
    ingest:
      max_future_s: 300            # gateway clock skew tolerated
      max_value: 1e9               # larger readings are implausible_value
      max_rate: {water_m3_per_h: 10, electricity_kw: 100, gas_m3_per_h: 20}
      max_pending_messages: 2000   # received, waiting for the worker; past this or
      max_pending_mb: 64           # this much payload, the broker holds the rest
      dead_letters: {per_gateway_burst: 20, per_gateway_per_s: 1, total_burst: 200, total_per_s: 50}
    dispatch:
      ack_deadline_minutes: {red: 15, yellow: 60, green: 240}
      console: true
    web:                           # the staff desk; absent: no desk (see app/web/settings.py)
      bind: 127.0.0.1
      port: 8080
    orders:                        # optional; default: orders.sqlite and mutes.sqlite in data_dir
      store: postgres              # "sqlite" (one machine) or "postgres" (shared by instances)
      dsn: postgresql://lifesign@db.example/lifesign   # libpq DSN; a password may come from ~/.pgpass
      pool_size: 8                 # connections per store
    partitions:                    # optional: instances that each watch some communities (app/partitions.py)
      north: {communities: [C1, C2], lease_s: 15}   # `lifesign run --partition north`; needs orders.store postgres
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import tzinfo
from pathlib import Path

from app.partitions import PartitionSettings, parse_partitions
from app.web.settings import WebSettings, parse_web
from dispatch.config import (
    EXTRA_KEYS,
    ChannelSettings,
    DispatchExtras,
    StormConfig,
    parse_dispatch_extras,
)
from dispatch.defaults import (
    ACK_DEADLINE_MINUTES,
    CLAIM_LEASE_S,
    MAINTENANCE_GRACE_S,
    RETRY_BASE_S,
    RETRY_MAX_S,
)
from dispatch.ticket_text import LANGUAGES
from ingest.deadletters import DeadLetterLimits
from ingest.plausible import MAX_REGISTER_VALUE, MaxRates
from ingest.subscriber import MAX_BATCH_MESSAGES, MAX_PENDING_BYTES, MAX_PENDING_MESSAGES
from lifesign.clock import DEFAULT_TIMEZONE, parse_timezone
from lifesign.config.source import ConfigNode, load_yaml, parse_yaml
from lifesign.grid import Tier
from lifesign.mqttclient import BrokerSettings, TlsSettings


@dataclass(frozen=True)
class ScheduleSettings:
    sweep_s: float = 10.0
    escalation_s: float = 30.0
    reload_s: float = 5.0
    #: status.json for `lifesign status`, and compaction of finished history days
    status_s: float = 5.0


@dataclass(frozen=True)
class IngestSettings:
    #: gateway clock skew tolerated
    max_future_s: float = 300.0
    #: readings older than this are rejected (a gateway whose clock reset to 1970)
    max_past_days: float = 30.0
    #: how far behind the newest reading duplicates are recognised (memory: 8 bytes per reading in it)
    dedup_horizon_h: float = 6.0
    #: the on-disk buffer used while the history store is unreachable; 0 = no spool
    spool_max_mb: float = 512.0
    #: a reading above this (a register's maximum) is rejected as implausible_value
    max_value: float = MAX_REGISTER_VALUE
    #: the most a connection carries: a reading implying more since its meter's previous one is implausible_value
    max_rate: MaxRates = field(default_factory=MaxRates)
    #: received messages waiting for the worker, at most; past this (or max_pending_mb of payload) the
    #: network thread stops reading the socket and the broker holds the rest
    max_pending_messages: int = MAX_PENDING_MESSAGES
    max_pending_mb: float = MAX_PENDING_BYTES / (1024 * 1024)
    #: dead-letter reports: a burst, then a rate, per gateway and for all gateways together
    dead_letters: DeadLetterLimits = field(default_factory=DeadLetterLimits)

    @property
    def max_pending_bytes(self) -> int:
        return int(self.max_pending_mb * 1024 * 1024)


@dataclass(frozen=True)
class InfluxSettings:
    url: str
    token: str
    org: str
    bucket: str
    #: how to read history back: "victoriametrics" (its export API) or "flux" (InfluxDB 2.x)
    reader: str = "victoriametrics"
    #: such servers answer a write before it is on disk (VictoriaMetrics flushes every
    #: -inmemoryDataFlushInterval, 5 s by default): acked readings stay in a local journal this
    #: long and are written again when the server comes back from an outage; 0 turns it off
    durability_window_s: float = 30.0


@dataclass(frozen=True)
class HistorySettings:
    #: "embedded" (a folder of logs and Parquet days in data_dir/history) or "influx"
    kind: str = "embedded"
    #: embedded: fsync every batch (survives power loss, not only kill -9)
    fsync: bool = False
    influx: InfluxSettings | None = None


@dataclass(frozen=True)
class MetricsSettings:
    host: str = "127.0.0.1"
    #: Prometheus /metrics port; 0 turns the endpoint off
    port: int = 0


@dataclass(frozen=True)
class OrdersSettings:
    """Where work orders, ledger, outbox and mutes live: SQLite files in data_dir (one
    machine, the default) or one PostgreSQL database shared by several instances."""

    store: str = "sqlite"
    dsn: str = ""
    pool_size: int = 8


@dataclass(frozen=True)
class DispatchSettings:
    ack_deadline_minutes: dict[Tier, float] = field(default_factory=lambda: dict(ACK_DEADLINE_MINUTES))
    console: bool = True
    # channels, storm guard, closing policy, retries: see dispatch/config.py
    channels: tuple[ChannelSettings, ...] = ()
    storm: StormConfig = field(default_factory=StormConfig)
    close_on_usage: dict[Tier, str] = field(default_factory=lambda: dict(DispatchExtras().close_on_usage))
    emergency_contact: bool = True
    retry_base_s: float = RETRY_BASE_S
    retry_max_s: float = RETRY_MAX_S
    claim_lease_s: float = CLAIM_LEASE_S
    maintenance_grace_s: float = MAINTENANCE_GRACE_S


@dataclass(frozen=True)
class SiteConfig:
    broker: BrokerSettings
    households_csv: Path
    meters_csv: Path
    roster: Path
    thresholds: Path
    data_dir: Path
    schedule: ScheduleSettings = ScheduleSettings()
    ingest: IngestSettings = IngestSettings()
    dispatch: DispatchSettings = DispatchSettings()
    history: HistorySettings = HistorySettings()
    metrics: MetricsSettings = MetricsSettings()
    orders: OrdersSettings = OrdersSettings()
    #: the staff web desk; None: not served
    web: WebSettings | None = None
    #: instances that each watch some communities, by name; empty: one instance watches all
    partitions: dict[str, PartitionSettings] = field(default_factory=dict)
    #: the one source of local time; thresholds.yaml and roster.yaml may only repeat it
    timezone: str = DEFAULT_TIMEZONE
    #: the words on tickets: en or zh-CN
    language: str = "en"
    #: the file this came from, named in errors about the other files
    source: str = "site.yaml"

    @property
    def max_future_s(self) -> float:
        return self.ingest.max_future_s

    @property
    def tz(self) -> tzinfo:
        return parse_timezone(self.timezone)

    @classmethod
    def load(cls, path: str | Path) -> SiteConfig:
        p = Path(path)
        return cls.from_node(load_yaml(p), p.resolve().parent)

    @classmethod
    def parse(cls, text: str, base: Path, file: str = "<site>") -> SiteConfig:
        return cls.from_node(parse_yaml(text, file), base)

    @classmethod
    def from_node(cls, root: ConfigNode, base: Path) -> SiteConfig:
        top = root.mapping(list(SECTIONS), required=["registry", "roster", "thresholds", "data_dir"])
        registry = top["registry"].mapping(["households", "meters"], required=["households", "meters"])
        orders = _orders(top["orders"]) if "orders" in top else OrdersSettings()
        partitions = parse_partitions(top["partitions"]) if "partitions" in top else {}
        if partitions and orders.store != "postgres":
            raise top["partitions"].error("need orders.store: postgres (the partitions' leases and their shared "
                                          "orders live there)")
        return cls(
            broker=_broker(top["broker"], base) if "broker" in top else BrokerSettings(),
            households_csv=base / registry["households"].string(),
            meters_csv=base / registry["meters"].string(),
            roster=base / top["roster"].string(),
            thresholds=base / top["thresholds"].string(),
            data_dir=base / top["data_dir"].string(),
            schedule=_schedule(top["schedule"]) if "schedule" in top else ScheduleSettings(),
            ingest=_ingest(top["ingest"]) if "ingest" in top else IngestSettings(),
            history=_history(top["history"]) if "history" in top else HistorySettings(),
            metrics=_metrics(top["metrics"]) if "metrics" in top else MetricsSettings(),
            dispatch=_dispatch(top["dispatch"]) if "dispatch" in top else DispatchSettings(),
            orders=orders, partitions=partitions,
            timezone=_timezone(top["timezone"]) if "timezone" in top else DEFAULT_TIMEZONE,
            web=parse_web(top["web"], base) if "web" in top else None,
            language=_language(top["language"]) if "language" in top else "en",
            source=root.file,
        )


#: the top-level keys of site.yaml; each section has its own parser below
SECTIONS = ("broker", "registry", "roster", "thresholds", "data_dir", "timezone", "language", "schedule", "ingest",
            "dispatch", "history", "metrics", "web", "orders", "partitions")


def _language(node: ConfigNode) -> str:
    name = node.string()
    if name not in LANGUAGES:
        raise node.error(f"must be one of {', '.join(LANGUAGES)}, got {name!r}")
    return name


def _timezone(node: ConfigNode) -> str:
    name = node.string()
    try:
        parse_timezone(name)
    except ValueError as exc:
        raise node.error(str(exc)) from None
    return name


def _broker(node: ConfigNode, base: Path) -> BrokerSettings:
    b = node.mapping(["host", "port", "client_id", "keepalive_s", "username", "password", "protocol",
                      "session_expiry_s", "tls"])
    d = BrokerSettings()
    return BrokerSettings(
        protocol=b["protocol"].choice(["3.1.1", "5"]) if "protocol" in b else d.protocol,
        session_expiry_s=(b["session_expiry_s"].integer(ge=0, le=2**32 - 1) if "session_expiry_s" in b
                          else d.session_expiry_s),
        tls=_tls(b["tls"], base) if "tls" in b else None,
        host=b["host"].string() if "host" in b else d.host,
        port=b["port"].integer(ge=1, le=65535) if "port" in b else d.port,
        client_id=b["client_id"].string() if "client_id" in b else d.client_id,
        keepalive_s=b["keepalive_s"].integer(ge=5, le=3600) if "keepalive_s" in b else d.keepalive_s,
        username=b["username"].string() if "username" in b else None,
        password=b["password"].string() if "password" in b else None,
    )


def _tls(node: ConfigNode, base: Path) -> TlsSettings:
    t = node.mapping(["ca_file", "cert_file", "key_file", "insecure"])

    def path(key: str) -> Path | None:
        return base / t[key].string() if key in t else None

    if ("cert_file" in t) != ("key_file" in t):
        raise node.error("tls needs both cert_file and key_file, or neither")
    return TlsSettings(ca_file=path("ca_file"), cert_file=path("cert_file"), key_file=path("key_file"),
                       insecure=t["insecure"].boolean() if "insecure" in t else False)


def _schedule(node: ConfigNode) -> ScheduleSettings:
    s = node.mapping(["sweep_s", "escalation_s", "reload_s", "status_s"])
    d = ScheduleSettings()
    return ScheduleSettings(
        sweep_s=s["sweep_s"].number(gt=0) if "sweep_s" in s else d.sweep_s,
        escalation_s=s["escalation_s"].number(gt=0) if "escalation_s" in s else d.escalation_s,
        reload_s=s["reload_s"].number(gt=0) if "reload_s" in s else d.reload_s,
        status_s=s["status_s"].number(gt=0) if "status_s" in s else d.status_s,
    )


def _ingest(node: ConfigNode) -> IngestSettings:
    i = node.mapping(["max_future_s", "max_past_days", "dedup_horizon_h", "spool_max_mb", "max_value", "max_rate",
                      "max_pending_messages", "max_pending_mb", "dead_letters"])
    d = IngestSettings()
    return IngestSettings(
        # a batch takes up to MAX_BATCH_MESSAGES: fewer waiting would starve it
        max_pending_messages=(i["max_pending_messages"].integer(ge=MAX_BATCH_MESSAGES) if "max_pending_messages" in i
                              else d.max_pending_messages),
        max_pending_mb=i["max_pending_mb"].number(gt=0) if "max_pending_mb" in i else d.max_pending_mb,
        dead_letters=_dead_letters(i["dead_letters"]) if "dead_letters" in i else d.dead_letters,
        max_value=i["max_value"].number(gt=0) if "max_value" in i else d.max_value,
        max_rate=_max_rate(i["max_rate"]) if "max_rate" in i else d.max_rate,
        max_future_s=i["max_future_s"].number(ge=0) if "max_future_s" in i else d.max_future_s,
        max_past_days=i["max_past_days"].number(gt=0) if "max_past_days" in i else d.max_past_days,
        dedup_horizon_h=i["dedup_horizon_h"].number(ge=0) if "dedup_horizon_h" in i else d.dedup_horizon_h,
        spool_max_mb=i["spool_max_mb"].number(ge=0) if "spool_max_mb" in i else d.spool_max_mb,
    )


def _max_rate(node: ConfigNode) -> MaxRates:
    keys = [f.name for f in fields(MaxRates)]
    r = node.mapping(keys)
    d = MaxRates()
    return MaxRates(**{k: r[k].number(gt=0) if k in r else getattr(d, k) for k in keys})


def _dead_letters(node: ConfigNode) -> DeadLetterLimits:
    r = node.mapping([f.name for f in fields(DeadLetterLimits)])
    d = DeadLetterLimits()
    return DeadLetterLimits(
        per_gateway_burst=r["per_gateway_burst"].integer(ge=1) if "per_gateway_burst" in r else d.per_gateway_burst,
        per_gateway_per_s=r["per_gateway_per_s"].number(gt=0) if "per_gateway_per_s" in r else d.per_gateway_per_s,
        total_burst=r["total_burst"].integer(ge=1) if "total_burst" in r else d.total_burst,
        total_per_s=r["total_per_s"].number(gt=0) if "total_per_s" in r else d.total_per_s,
    )


def _history(node: ConfigNode) -> HistorySettings:
    h = node.mapping(["kind", "fsync", "influx"])
    kind = h["kind"].choice(["embedded", "influx"]) if "kind" in h else "embedded"
    influx = None
    if "influx" in h:
        i = h["influx"].mapping(["url", "token", "org", "bucket", "reader", "durability_window_s"],
                                required=["url", "bucket"])
        influx = InfluxSettings(
            url=i["url"].string(), token=i["token"].string() if "token" in i else "",
            org=i["org"].string() if "org" in i else "", bucket=i["bucket"].string(),
            reader=i["reader"].choice(["victoriametrics", "flux"]) if "reader" in i else "victoriametrics",
            durability_window_s=i["durability_window_s"].number(ge=0) if "durability_window_s" in i else 30.0,
        )
    if kind == "influx" and influx is None:
        raise (h["kind"]).error("is influx, so history.influx (url, bucket, ...) is required")
    return HistorySettings(kind=kind, fsync=h["fsync"].boolean() if "fsync" in h else False, influx=influx)


def _orders(node: ConfigNode) -> OrdersSettings:
    o = node.mapping(["store", "dsn", "pool_size"])
    store = o["store"].choice(["sqlite", "postgres"]) if "store" in o else "sqlite"
    if store == "postgres" and "dsn" not in o:
        raise o["store"].error("is postgres, so orders.dsn (postgresql://user@host/database) is required")
    return OrdersSettings(store=store, dsn=o["dsn"].string() if "dsn" in o else "",
                          pool_size=o["pool_size"].integer(ge=1, le=100) if "pool_size" in o else 8)


def _metrics(node: ConfigNode) -> MetricsSettings:
    m = node.mapping(["host", "port"])
    d = MetricsSettings()
    return MetricsSettings(
        host=m["host"].string() if "host" in m else d.host,
        port=m["port"].integer(ge=0, le=65535) if "port" in m else d.port,
    )


def _dispatch(node: ConfigNode) -> DispatchSettings:
    d = node.mapping(["ack_deadline_minutes", "console", *EXTRA_KEYS])
    deadlines = dict(DispatchSettings().ack_deadline_minutes)
    if "ack_deadline_minutes" in d:
        for tier, value in d["ack_deadline_minutes"].mapping([t.value for t in Tier]).items():
            deadlines[Tier(tier)] = value.number(gt=0)
    return DispatchSettings(
        ack_deadline_minutes=deadlines,
        console=d["console"].boolean() if "console" in d else True,
        **parse_dispatch_extras(d),
    )
