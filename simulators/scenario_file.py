"""Scenario files (``configs/scenarios/*.yaml``): every knob of a simulated run, strictly checked.

::

    seed: 7                      # cohort, routine, absences, incidents, network: all from it
    start: auto                  # local midnight `days` before today | RFC 3339 | epoch seconds
    days: 4
    interval_s: 900              # round length; must divide every meter cadence
    timezone: Asia/Shanghai      # the residents' wall clock: IANA (DST included) | UTC+08:00
    # utc_offset_hours: 8        # or a fixed offset (not with timezone)
    cohort: {households: 120, households_per_building: 12, buildings_per_grid: 4,
             grids_per_community: 3, meters_per_gateway: 64, with_gas_fraction: 0.0,
             low_user_fraction: 0.0, low_users_cook_little: false, long_sleeper_fraction: 0.0,
             appliances: simple}   # simple | realistic (fridges 100-250 W, freezers, standby to 300 W)
    lifestyle: plain             # plain | realistic | {weekends: true, naps: true, ...}
    absences: {kinds: [overnight_stay, trip, hospital], rate_scale: 1.0}   # omit: nobody leaves
    conditions: {running_toilet_fraction: 0.05, running_toilet_lph: [0.5, 6]}   # omit: none
    incidents:
      counts: {incapacitated: 4, illness: 1, leak: 1, water_cut: 1}        # placed by the seed
      left_on_p: 0.5             # share of stopping incidents that leave a light, TV or heater on
      listed:                                                               # placed by hand
        - {kind: power_cut, building: B002, start: "2024-11-21T09:00:00+08:00", end: "2024-11-21T12:00:00+08:00"}
        - {kind: incapacitated, household: H00003, start: 1732080000, left_on: light, left_on_w: 60}
    meters: {cadence: {15min: 0.8, 60min: 0.1, nbiot_daily: 0.1}}
    network: {duplicate_p: 0.01, reorder_p: 0.01, offline_p: 0.001, offline_rounds: [4, 16],
              skewed_share: 0.1, max_skew_s: 120, garbage_p: 0.001, batch_rounds: 1}
    live: {broker: "127.0.0.1:1883", acceleration: 3600, qos: 1}
    dataset: {formats: [csv, parquet]}
    statistics:                  # targets the statistics test checks, with tolerances
      daily_water_l: {target: 100, tolerance: 25}

Unknown keys are errors with the key's path and line, like every lifesign YAML.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from lifesign.clock import DEFAULT_TIMEZONE, DEFAULT_UTC_OFFSET_HOURS
from lifesign.config import ConfigError, ConfigNode, load_yaml, parse_yaml
from simulators.absences import ABSENCE_KINDS, Absence, draw_absences
from simulators.appliances import APPLIANCE_MODELS
from simulators.cohort import make_cohort
from simulators.conditions import RUNNING_TOILET_LPH, Condition, draw_conditions
from simulators.incidents import (
    BUILDING_KINDS,
    HOUSEHOLD_KINDS,
    KINDS,
    LEFT_ON_LOADS,
    METER_KINDS,
    STOPPING_KINDS,
    Incident,
    draw_incident,
    leave_loads_on,
)
from simulators.lifestyle import Lifestyle
from simulators.localtime import LocalClock, fixed_zone
from simulators.meters import CADENCES, MeterCadence
from simulators.network import GatewayFaults
from simulators.scenario import Scenario, pick_incidents

DAY, HOUR = 86400.0, 3600.0
_STREAM_PLACEMENT = 0x504C4143
_COHORT_KEYS = {"households": 1, "households_per_building": 12, "buildings_per_grid": 4, "grids_per_community": 3,
                "meters_per_gateway": 64}
_NETWORK_P = ("duplicate_p", "reorder_p", "offline_p", "skewed_share", "garbage_p")


@dataclass(frozen=True)
class Statistic:
    target: float
    tolerance: float


@dataclass(frozen=True)
class LiveSettings:
    broker: str = "127.0.0.1:1883"
    acceleration: float = 0.0
    qos: int = 1


@dataclass(frozen=True)
class ScenarioSpec:
    file: str
    seed: int
    start: str | float
    days: float
    interval_s: int
    utc_offset_hours: float
    cohort: dict[str, float]
    lifestyle: Lifestyle
    absence_kinds: tuple[str, ...]
    absence_rate_scale: float
    counts: dict[str, int]
    listed: tuple[Incident, ...]
    cadence: dict[str, float] | None
    faults: GatewayFaults
    live: LiveSettings
    formats: tuple[str, ...]
    statistics: dict[str, Statistic] = field(default_factory=dict)
    #: IANA zone or fixed "UTC+08:00" (from utc_offset_hours)
    timezone: str = DEFAULT_TIMEZONE
    appliances: str = "simple"
    running_toilet_fraction: float = 0.0
    running_toilet_lph: tuple[float, float] = RUNNING_TOILET_LPH
    left_on_p: float = 0.0
    low_users_cook_little: bool = False

    @classmethod
    def load(cls, path: str | Path) -> ScenarioSpec:
        return _parse(load_yaml(path))

    @classmethod
    def parse(cls, text: str, file: str = "<scenario>") -> ScenarioSpec:
        return _parse(parse_yaml(text, file))

    def start_ts(self, now: float | None = None) -> float:
        """``auto``: local midnight ``days`` (rounded up) before today, so dates read as recent."""
        if self.start != "auto":
            return float(self.start)
        clock = LocalClock(self.timezone)
        today = clock.local_day(now if now is not None else time.time())
        return clock.midnight(today - math.ceil(self.days))

    def build(self, *, start: float | None = None, now: float | None = None) -> Scenario:
        """The scenario: cohort, absences, incidents placed by the seed, cadences."""
        t0 = start if start is not None else self.start_ts(now)
        c = self.cohort
        cohort = make_cohort(
            int(c["households"]), self.seed,
            **{k: int(c[k]) for k in _COHORT_KEYS if k != "households"},
            with_gas_fraction=c["with_gas_fraction"], low_user_fraction=c["low_user_fraction"],
            long_sleeper_fraction=c["long_sleeper_fraction"], appliances=self.appliances,
            low_users_cook_little=self.low_users_cook_little,
        )
        absences: tuple[Absence, ...] = ()
        if self.absence_kinds:
            absences = draw_absences(cohort, t0, self.days, self.seed, kinds=self.absence_kinds,
                                     rate_scale=self.absence_rate_scale, timezone=self.timezone)
        incidents = list(self.listed)
        taken = frozenset(i.household_id for i in incidents if i.kind in HOUSEHOLD_KINDS)
        rng = np.random.default_rng([self.seed, _STREAM_PLACEMENT])
        for k, kind in enumerate(HOUSEHOLD_KINDS):
            n = self.counts.get(kind, 0)
            if not n:
                continue
            picked = pick_incidents(cohort, n, t0, self.days, self.seed + 7919 * k, kind=kind,
                                    timezone=self.timezone, avoid=absences, exclude=taken)
            taken = taken | {i.household_id for i in picked}
            for i in picked:
                incidents.append(draw_incident(cohort, kind, i.start, rng, cohort.registry.household_index[i.household_id]))
        lo, hi = t0 + 0.5 * DAY, t0 + self.days * DAY - 6 * HOUR
        for kind in BUILDING_KINDS + METER_KINDS:
            for _ in range(self.counts.get(kind, 0)):
                if hi <= lo:
                    raise ConfigError(self.file, None, f"incidents.counts.{kind}", "needs a scenario longer than 18 h")
                incidents.append(draw_incident(cohort, kind, float(np.floor(lo + rng.random() * (hi - lo))), rng))
        stopped = {i.household_id: i.start for i in incidents if i.kind in STOPPING_KINDS}
        # Nobody leaves home after an incident that stopped them.
        absences = tuple(a for a in absences if a.start < stopped.get(a.household_id, math.inf))
        cadence = MeterCadence.assign(cohort.registry, self.cadence, self.seed) if self.cadence else None
        ordered = tuple(sorted(incidents, key=lambda i: (i.start, i.kind, i.household_id, i.building)))
        if self.left_on_p > 0:
            ordered = leave_loads_on(ordered, self.left_on_p, self.seed, self.timezone)
        conditions: tuple[Condition, ...] = ()
        if self.running_toilet_fraction > 0:
            conditions = draw_conditions(cohort, t0, self.days, self.seed, running_toilet_fraction=self.running_toilet_fraction,
                                         lph=self.running_toilet_lph)
        return Scenario(cohort, t0, self.days, interval_s=self.interval_s, seed=self.seed, timezone=self.timezone,
                        lifestyle=self.lifestyle, absences=absences, incidents=ordered, cadence=cadence,
                        conditions=conditions)


def _time(node: ConfigNode) -> float:
    """Epoch seconds from a number or an RFC 3339 text with an offset."""
    if node.node.tag in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float"):
        return node.number(gt=0)
    text = node.string()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise node.error(f"must be epoch seconds or an RFC 3339 time, got {text!r}") from None
    if parsed.tzinfo is None:
        raise node.error(f"must carry a UTC offset (e.g. +08:00), got {text!r}")
    return parsed.timestamp()


def _parse(root: ConfigNode) -> ScenarioSpec:
    top = root.mapping(["seed", "start", "days", "interval_s", "timezone", "utc_offset_hours", "cohort", "lifestyle",
                        "absences", "conditions", "incidents", "meters", "network", "live", "dataset", "statistics"],
                       required=["seed", "days"])
    seed = top["seed"].integer(ge=0)
    start: str | float = "auto"
    if "start" in top and not (top["start"].node.tag == "tag:yaml.org,2002:str" and top["start"].node.value == "auto"):
        start = _time(top["start"])
    days = top["days"].number(gt=0)
    interval_s = top["interval_s"].integer(ge=1) if "interval_s" in top else 900
    offset = top["utc_offset_hours"].number(ge=-12, le=14) if "utc_offset_hours" in top else DEFAULT_UTC_OFFSET_HOURS
    zone = fixed_zone(offset) if "utc_offset_hours" in top else DEFAULT_TIMEZONE
    if "timezone" in top:
        if "utc_offset_hours" in top:
            raise top["timezone"].error("and utc_offset_hours are alternatives: give one of them")
        zone = top["timezone"].string()
        try:
            offset = LocalClock(zone).offset_s(0.0) / HOUR
        except ValueError as e:
            raise top["timezone"].error(str(e).removeprefix("timezone ")) from None
    cohort: dict[str, float] = {**{k: float(v) for k, v in _COHORT_KEYS.items()}, "households": 100.0,
                                "with_gas_fraction": 0.0, "low_user_fraction": 0.0, "long_sleeper_fraction": 0.0}
    appliances, cook_little = "simple", False
    if "cohort" in top:
        for key, node in top["cohort"].mapping([*cohort, "appliances", "low_users_cook_little"]).items():
            if key == "appliances":
                appliances = node.choice(APPLIANCE_MODELS)
            elif key == "low_users_cook_little":
                cook_little = node.boolean()
            else:
                cohort[key] = node.number(ge=0, le=1) if key.endswith("_fraction") else float(node.integer(ge=1))
    lifestyle = _lifestyle(top["lifestyle"]) if "lifestyle" in top else Lifestyle()
    kinds: tuple[str, ...] = ()
    scale = 1.0
    if "absences" in top:
        ab = top["absences"].mapping(["kinds", "rate_scale"])
        kinds = tuple(n.choice(ABSENCE_KINDS) for n in ab["kinds"].sequence()) if "kinds" in ab else ABSENCE_KINDS
        scale = ab["rate_scale"].number(ge=0) if "rate_scale" in ab else 1.0
    toilets, toilet_lph = 0.0, RUNNING_TOILET_LPH
    if "conditions" in top:
        cond = top["conditions"].mapping(["running_toilet_fraction", "running_toilet_lph"])
        if "running_toilet_fraction" in cond:
            toilets = cond["running_toilet_fraction"].number(ge=0, le=1)
        if "running_toilet_lph" in cond:
            toilet_lph = _range(cond["running_toilet_lph"])
    counts: dict[str, int] = {}
    listed: list[Incident] = []
    left_on_p = 0.0
    if "incidents" in top:
        inc = top["incidents"].mapping(["counts", "listed", "left_on_p"])
        if "left_on_p" in inc:
            left_on_p = inc["left_on_p"].number(ge=0, le=1)
        if "counts" in inc:
            counts = {k: n.integer(ge=0) for k, n in inc["counts"].mapping(KINDS).items()}
        if "listed" in inc:
            listed = [_incident(n) for n in inc["listed"].sequence()]
    cadence = None
    if "meters" in top:
        m = top["meters"].mapping(["cadence"])
        if "cadence" in m:
            cadence = {k: n.number(ge=0) for k, n in m["cadence"].mapping(CADENCES).items()}
            if not sum(cadence.values()) > 0:
                raise m["cadence"].error("must give at least one cadence a share above 0")
            for k in cadence:
                if CADENCES[k] % interval_s:
                    raise m["cadence"].error(f"{k} ({CADENCES[k]} s) is not a multiple of interval_s ({interval_s})")
    faults = _faults(top["network"]) if "network" in top else GatewayFaults()
    live = _live(top["live"]) if "live" in top else LiveSettings()
    formats: tuple[str, ...] = ("csv",)
    if "dataset" in top:
        ds = top["dataset"].mapping(["formats"])
        if "formats" in ds:
            formats = tuple(n.choice(("csv", "parquet")) for n in ds["formats"].sequence())
    statistics: dict[str, Statistic] = {}
    if "statistics" in top:
        for name, node in top["statistics"].mapping(["daily_water_l", "night_base_load_w", "overnight_absence_fraction"]).items():
            s = node.mapping(["target", "tolerance"], required=["target", "tolerance"])
            statistics[name] = Statistic(s["target"].number(ge=0), s["tolerance"].number(gt=0))
    return ScenarioSpec(root.file, seed, start, days, interval_s, offset, cohort, lifestyle, kinds, scale, counts,
                        tuple(listed), cadence, faults, live, formats, statistics, timezone=zone, appliances=appliances,
                        running_toilet_fraction=toilets, running_toilet_lph=toilet_lph, left_on_p=left_on_p,
                        low_users_cook_little=cook_little)


def _range(node: ConfigNode) -> tuple[float, float]:
    pair = node.sequence()
    if len(pair) != 2:
        raise node.error(f"must be [min, max], got {len(pair)} values")
    lo, hi = pair[0].number(gt=0), pair[1].number(gt=0)
    if hi < lo:
        raise node.error(f"must be [min, max] with min <= max, got [{lo:g}, {hi:g}]")
    return lo, hi


def _lifestyle(node: ConfigNode) -> Lifestyle:
    if node.node.tag == "tag:yaml.org,2002:str":
        return Lifestyle.realistic() if node.choice(("plain", "realistic")) == "realistic" else Lifestyle()
    return Lifestyle(**{k: n.boolean() for k, n in node.mapping(Lifestyle.names()).items()})


def _incident(node: ConfigNode) -> Incident:
    m = node.mapping(["kind", "household", "building", "meter", "start", "end", "magnitude", "left_on", "left_on_w"],
                     required=["kind", "start"])
    kind = m["kind"].choice(KINDS)
    start = _time(m["start"])
    end = _time(m["end"]) if "end" in m else math.inf
    if not end > start:
        raise m["end"].error("must be after start")
    need = "household" if kind in HOUSEHOLD_KINDS else "building" if kind in BUILDING_KINDS else "meter"
    if need not in m:
        raise node.error(f"is missing the required key '{need}' (a {kind} incident)")
    magnitude = m["magnitude"].number(ge=0) if "magnitude" in m else {"fall_tap_running": 240.0, "illness": 0.4,
                                                                       "leak": 10.0, "power_cut": 1.0}.get(kind, 0.0)
    left_on, left_on_w = "", 0.0
    if "left_on" in m:
        if kind not in STOPPING_KINDS:
            raise m["left_on"].error(f"needs a {' or '.join(STOPPING_KINDS)} incident, got {kind}")
        left_on = m["left_on"].choice(tuple(LEFT_ON_LOADS))
        lo, hi = LEFT_ON_LOADS[left_on]
        left_on_w = m["left_on_w"].number(gt=0) if "left_on_w" in m else (lo + hi) / 2.0
    elif "left_on_w" in m:
        raise m["left_on_w"].error("needs left_on (light, tv or heater)")
    return Incident(m["household"].string() if "household" in m else "", kind, start, end,
                    building=m["building"].string() if "building" in m else "",
                    meter_id=m["meter"].string() if "meter" in m else "", magnitude=magnitude,
                    left_on=left_on, left_on_w=left_on_w)


def _faults(node: ConfigNode) -> GatewayFaults:
    m = node.mapping([*_NETWORK_P, "offline_rounds", "max_skew_s", "batch_rounds"])
    values: dict[str, object] = {k: m[k].number(ge=0, le=1) for k in _NETWORK_P if k in m}
    if "max_skew_s" in m:
        values["max_skew_s"] = m["max_skew_s"].number(ge=0, le=240)
    if "batch_rounds" in m:
        values["batch_rounds"] = m["batch_rounds"].integer(ge=1)
    if "offline_rounds" in m:
        pair = m["offline_rounds"].sequence()
        if len(pair) != 2:
            raise m["offline_rounds"].error(f"must be [min, max], got {len(pair)} values")
        lo, hi = pair[0].integer(ge=1), pair[1].integer(ge=1)
        if hi < lo:
            raise m["offline_rounds"].error(f"must be [min, max] with min <= max, got [{lo}, {hi}]")
        values["offline_rounds"] = (lo, hi)
    return GatewayFaults(**values)  # type: ignore[arg-type]


def _live(node: ConfigNode) -> LiveSettings:
    m = node.mapping(["broker", "acceleration", "qos"])
    broker = m["broker"].string() if "broker" in m else LiveSettings.broker
    if "broker" in m:
        parse_broker(broker, m["broker"])
    return LiveSettings(broker=broker,
                        acceleration=m["acceleration"].number(ge=0) if "acceleration" in m else 0.0,
                        qos=m["qos"].integer(ge=1, le=2) if "qos" in m else 1)


def parse_broker(text: str, node: ConfigNode | None = None) -> tuple[str, int]:
    """``host:port`` → (host, port)."""
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        problem = f"must be host:port, got {text!r}"
        if node is not None:
            raise node.error(problem)
        raise ValueError(f"--broker {problem}")
    return host, int(port)


__all__ = ["LiveSettings", "ScenarioSpec", "Statistic", "parse_broker"]
