"""The parts of site.yaml's ``dispatch`` section beyond deadlines: channels, storm guard,
closing policy, retries. Parsed here so app/site.py stays one small function per
section (its ``_dispatch`` calls :func:`parse_dispatch_extras`).

::

    dispatch:
      ack_deadline_minutes: {red: 15, yellow: 60, green: 240}
      console: true
      emergency_contact: true        # last escalation step: the resident's emergency contact
      close_on_usage: {red: person, yellow: person, green: auto}
      retry: {base_s: 10, max_s: 600, claim_s: 120}   # claim_s: see DispatchExtras.claim_lease_s
      maintenance_grace_s: 300       # a meter fault must still be open this long to be an order
      storm:
        min_homes: 3
        building_share: 0.5
        grid_share: 0.5
        window_minutes: 360
        hold_minutes: 180
        rules: {no_usage: [warning], meter_offline: [warning, critical]}
      channels:                      # besides MQTT (always) and the console (console: true)
        - {kind: wecom, url: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY"}
        - {kind: dingtalk, url: "https://oapi.dingtalk.com/robot/send?access_token=T", secret: SEC...}
        - {kind: webhook, name: sms-gateway, url: "https://sms.example/hook",
           headers: {Authorization: "Bearer ..."}}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dispatch.defaults import (
    CLAIM_LEASE_S,
    CLOSE_ON_USAGE,
    CLOSE_POLICIES,
    MAINTENANCE_GRACE_S,
    RETRY_BASE_S,
    RETRY_MAX_S,
)
from lifesign.config.source import ConfigNode
from lifesign.grid import Tier

CHANNEL_KINDS = ("wecom", "dingtalk", "webhook")
_SEVERITIES = ("warning", "critical")
_STORM_RULES = ("no_usage", "meter_offline", "continuous_flow", "abnormal_high")


@dataclass(frozen=True)
class ChannelSettings:
    kind: str
    name: str
    url: str
    secret: str | None = None
    timeout_s: float = 5.0
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StormConfig:
    min_homes: int = 3
    building_share: float = 0.5
    grid_share: float = 0.5
    window_minutes: float = 360.0
    hold_minutes: float = 180.0
    rules: dict[str, tuple[str, ...]] = field(default_factory=lambda: {
        "no_usage": ("warning",), "meter_offline": ("warning", "critical")})


@dataclass(frozen=True)
class DispatchExtras:
    channels: tuple[ChannelSettings, ...] = ()
    storm: StormConfig = field(default_factory=StormConfig)
    close_on_usage: dict[Tier, str] = field(default_factory=lambda: dict(CLOSE_ON_USAGE))
    emergency_contact: bool = True
    retry_base_s: float = RETRY_BASE_S
    retry_max_s: float = RETRY_MAX_S
    #: a delivery claimed by an instance that died mid-send is sent by another after this;
    #: shorter is a quicker ticket after a takeover, at the risk of a second send (same key)
    #: when sending a claimed batch takes longer
    claim_lease_s: float = CLAIM_LEASE_S
    #: a meter_offline or meter_stuck alert becomes an order (or counts towards a storm) only
    #: if still open this long after dispatch saw it: a drained backlog clears them sooner
    maintenance_grace_s: float = MAINTENANCE_GRACE_S


EXTRA_KEYS = ("channels", "storm", "close_on_usage", "emergency_contact", "retry", "maintenance_grace_s")


def parse_dispatch_extras(d: dict[str, ConfigNode]) -> dict[str, Any]:
    """Keyword arguments for DispatchSettings from the section's already-checked keys."""
    base = DispatchExtras()
    close = dict(base.close_on_usage)
    if "close_on_usage" in d:
        for tier, value in d["close_on_usage"].mapping([t.value for t in Tier]).items():
            close[Tier(tier)] = value.choice(CLOSE_POLICIES)
    retry_base, retry_max, claim = base.retry_base_s, base.retry_max_s, base.claim_lease_s
    if "retry" in d:
        r = d["retry"].mapping(["base_s", "max_s", "claim_s"])
        retry_base = r["base_s"].number(gt=0) if "base_s" in r else retry_base
        retry_max = r["max_s"].number(gt=0) if "max_s" in r else retry_max
        claim = r["claim_s"].number(ge=1) if "claim_s" in r else claim
        if retry_max < retry_base:
            raise d["retry"].error(f"max_s must be >= base_s, got {retry_max:g} < {retry_base:g}")
    return {
        "channels": tuple(_channels(d["channels"])) if "channels" in d else (),
        "storm": _storm(d["storm"]) if "storm" in d else base.storm,
        "close_on_usage": close,
        "emergency_contact": d["emergency_contact"].boolean() if "emergency_contact" in d else True,
        "retry_base_s": retry_base,
        "retry_max_s": retry_max,
        "claim_lease_s": claim,
        "maintenance_grace_s": (d["maintenance_grace_s"].number(ge=0) if "maintenance_grace_s" in d
                                else base.maintenance_grace_s),
    }


def _channels(node: ConfigNode) -> list[ChannelSettings]:
    found: list[ChannelSettings] = []
    names: set[str] = set()
    for item in node.sequence():
        c = item.mapping(["kind", "name", "url", "secret", "timeout_s", "headers"], required=["kind", "url"])
        kind = c["kind"].choice(CHANNEL_KINDS)
        name = c["name"].string() if "name" in c else kind
        if name in names or name in ("mqtt", "console"):
            raise (c["name"] if "name" in c else c["kind"]).error(
                f"gives the channel name {name!r} twice (or a built-in one); add a unique 'name'")
        names.add(name)
        url = c["url"].string()
        if not url.startswith(("http://", "https://")):
            raise c["url"].error(f"must start with http:// or https://, got {url!r}")
        if "secret" in c and kind != "dingtalk":
            raise c["secret"].error(f"is only used by dingtalk channels, not {kind}")
        headers = {k: v.string() for k, v in c["headers"].mapping().items()} if "headers" in c else {}
        found.append(ChannelSettings(kind, name, url, c["secret"].string() if "secret" in c else None,
                                     c["timeout_s"].number(gt=0) if "timeout_s" in c else 5.0, headers))
    return found


def _storm(node: ConfigNode) -> StormConfig:
    s = node.mapping(["min_homes", "building_share", "grid_share", "window_minutes", "hold_minutes", "rules"])
    d = StormConfig()
    rules = d.rules
    if "rules" in s:
        rules = {rule: tuple(v.choice(_SEVERITIES) for v in value.sequence())
                 for rule, value in s["rules"].mapping(_STORM_RULES).items()}
    return StormConfig(
        min_homes=s["min_homes"].integer(ge=1) if "min_homes" in s else d.min_homes,
        building_share=s["building_share"].number(gt=0, le=1) if "building_share" in s else d.building_share,
        grid_share=s["grid_share"].number(gt=0, le=1) if "grid_share" in s else d.grid_share,
        window_minutes=s["window_minutes"].number(gt=0) if "window_minutes" in s else d.window_minutes,
        hold_minutes=s["hold_minutes"].number(ge=0) if "hold_minutes" in s else d.hold_minutes,
        rules=rules,
    )
