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
    schedule:
      sweep_s: 10                  # detector sweep
      escalation_s: 30             # escalation check
      reload_s: 5                  # thresholds hot reload check
    ingest:
      max_future_s: 300            # gateway clock skew tolerated
    dispatch:
      ack_deadline_minutes: {red: 15, yellow: 60, green: 240}
      console: true
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lifesign.config.source import ConfigNode, load_yaml, parse_yaml
from lifesign.grid import Tier


@dataclass(frozen=True)
class BrokerSettings:
    host: str = "127.0.0.1"
    port: int = 1883
    client_id: str = "lifesign-ingest"
    keepalive_s: int = 30
    username: str | None = None
    password: str | None = None


@dataclass(frozen=True)
class ScheduleSettings:
    sweep_s: float = 10.0
    escalation_s: float = 30.0
    reload_s: float = 5.0


@dataclass(frozen=True)
class DispatchSettings:
    ack_deadline_minutes: dict[Tier, float] = field(
        default_factory=lambda: {Tier.RED: 15.0, Tier.YELLOW: 60.0, Tier.GREEN: 240.0}
    )
    console: bool = True


@dataclass(frozen=True)
class SiteConfig:
    broker: BrokerSettings
    households_csv: Path
    meters_csv: Path
    roster: Path
    thresholds: Path
    data_dir: Path
    schedule: ScheduleSettings = ScheduleSettings()
    max_future_s: float = 300.0
    dispatch: DispatchSettings = DispatchSettings()

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
        return cls(
            broker=_broker(top["broker"]) if "broker" in top else BrokerSettings(),
            households_csv=base / registry["households"].string(),
            meters_csv=base / registry["meters"].string(),
            roster=base / top["roster"].string(),
            thresholds=base / top["thresholds"].string(),
            data_dir=base / top["data_dir"].string(),
            schedule=_schedule(top["schedule"]) if "schedule" in top else ScheduleSettings(),
            max_future_s=_max_future_s(top["ingest"]) if "ingest" in top else 300.0,
            dispatch=_dispatch(top["dispatch"]) if "dispatch" in top else DispatchSettings(),
        )


#: the top-level keys of site.yaml; each section has its own parser below
SECTIONS = ("broker", "registry", "roster", "thresholds", "data_dir", "schedule", "ingest", "dispatch")


def _broker(node: ConfigNode) -> BrokerSettings:
    b = node.mapping(["host", "port", "client_id", "keepalive_s", "username", "password"])
    d = BrokerSettings()
    return BrokerSettings(
        host=b["host"].string() if "host" in b else d.host,
        port=b["port"].integer(ge=1, le=65535) if "port" in b else d.port,
        client_id=b["client_id"].string() if "client_id" in b else d.client_id,
        keepalive_s=b["keepalive_s"].integer(ge=5, le=3600) if "keepalive_s" in b else d.keepalive_s,
        username=b["username"].string() if "username" in b else None,
        password=b["password"].string() if "password" in b else None,
    )


def _schedule(node: ConfigNode) -> ScheduleSettings:
    s = node.mapping(["sweep_s", "escalation_s", "reload_s"])
    d = ScheduleSettings()
    return ScheduleSettings(
        sweep_s=s["sweep_s"].number(gt=0) if "sweep_s" in s else d.sweep_s,
        escalation_s=s["escalation_s"].number(gt=0) if "escalation_s" in s else d.escalation_s,
        reload_s=s["reload_s"].number(gt=0) if "reload_s" in s else d.reload_s,
    )


def _max_future_s(node: ConfigNode) -> float:
    i = node.mapping(["max_future_s"])
    return i["max_future_s"].number(ge=0) if "max_future_s" in i else 300.0


def _dispatch(node: ConfigNode) -> DispatchSettings:
    d = node.mapping(["ack_deadline_minutes", "console"])
    deadlines = dict(DispatchSettings().ack_deadline_minutes)
    if "ack_deadline_minutes" in d:
        for tier, value in d["ack_deadline_minutes"].mapping([t.value for t in Tier]).items():
            deadlines[Tier(tier)] = value.number(gt=0)
    return DispatchSettings(
        ack_deadline_minutes=deadlines,
        console=d["console"].boolean() if "console" in d else True,
    )
