"""Detection thresholds, layered: defaults → tier → community → grid → household.

``thresholds.yaml``::

    timezone: Asia/Shanghai              # optional: site.yaml's timezone is the one that counts;
                                         # if given here, it must be the same zone
    activity:                            # what counts as a sign of life
      water: {min_delta_m3: 0.001, base_flow_after_minutes: 60}  # 1 L above a flow that runs on
      electricity: {min_change_w: 380, hourly_change_w: 75, resolution_kwh: 0.01}  # a switch, not a level
      gas: {min_delta_m3: 0.001}
      stuck_min_steps: 10                # identical interval usage of >= 10 steps: meter_stuck
    defaults:
      no_usage:
        hours: 12                        # whole home silent this long (weighted hours): critical
        windows:                         # local time; night hours count half toward a silence
          - {from: "23:00", to: "06:00", weight: 0.5}
        max_data_lag_minutes: 20         # readings must confirm the silence up to this close
        utilities: {water: {hours: 24}}  # one utility silent this long: a warning
        electricity_only: {hours: 34}    # a home with no meter but electricity waits at least this
                                         # long (real hours; ~ or left out: no floor)
      meter_offline: {hours: 6}          # no readings at all: maintenance
      meter_stuck: {hours: 6}            # the same interval usage repeated this long: maintenance
      continuous_flow:                   # water in every interval this long (a leak, a tap left on)
        hours: 3
        strong: {above_lph: 80, hours: 1}  # or this fast in every interval this long (a tap or
                                           # shower running on after a fall; strong: ~ off)
      abnormal_high: {factor: 4, min_m3: 0.5}  # water per local day vs the home's norm
    tiers:
      red: {no_usage: {hours: 10, electricity_only: {hours: 24}}}  # a tier's floor holds over the defaults'
    communities:
      C1: {meter_offline: {hours: 3}}
    grids:
      G01: {no_usage: {windows: []}}     # an empty list removes the windows
    households:
      H0042: {no_usage: {hours: 6}, activity: {electricity: {min_change_w: 200}}}
    learn:                               # what `lifesign learn` does (not used by the detector)
      method: rhythm                     # rhythm (default) | calibrated; the three below: calibrated's
      false_alarms_per_month: 0.5        # welfare alarms per home-month on normal living, held out
      min_hours: 1                       # no learned deadline shorter than this (real hours)
      max_hours: 16                      # nor longer than this

Every layer may set any field; a household takes the most specific value of each
field. Household ids (and community / grid names) are checked against the registry
when the detector resolves them, not here: this file is valid on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from datetime import tzinfo
from pathlib import Path
from typing import Any

from lifesign.clock import DEFAULT_TIMEZONE, parse_timezone
from lifesign.config.source import ConfigNode, load_yaml, parse_yaml
from lifesign.grid import Tier, Utility
from lifesign.registry import Registry

#: windows are laid on a grid of this many minutes (the deadline tables' resolution)
WINDOW_STEP_MIN = 15
MAX_HOURS = 24.0 * 14
#: the meter state keeps where a strong flow began in its run in one byte of minutes (4.2 h):
#: past that the any-flow path (``hours``) has long spoken
MAX_STRONG_FLOW_HOURS = 4.0


@dataclass(frozen=True)
class Window:
    """[start, end) in local minutes after midnight; end < start wraps past midnight."""

    start_min: int
    end_min: int
    weight: float


#: the change of an hour's mean power that cold appliances don't make (real hourly homes)
HOURLY_CHANGE_W = 75.0


@dataclass(frozen=True)
class ActivitySettings:
    water_min_delta_m3: float = 0.001
    #: water that has flowed in every interval this long has a constant part that is not activity
    water_base_flow_after_minutes: float = 60.0
    #: a change of mean power between two 15-minute intervals larger than cold appliances,
    #: standby and thermostats make: someone switched something (two cold appliances that
    #: start in the same quarter hour read as up to 360 W on a 0.01 kWh register)
    electricity_min_change_w: float = 380.0
    #: the same between two hourly intervals, where the cold appliances' cycles average out
    #: (at most ``electricity_min_change_w``; a household that sets its own ``min_change_w``
    #: gets the same share of it, :attr:`hourly_share`). Unset (None): 75 W, or a quarter of
    #: ``electricity_min_change_w`` where that is less (the 15-minute change spread over the
    #: hour, as before there were two numbers)
    electricity_hourly_change_w: float | None = None
    #: one register step: a change of less than 1.5 steps of power is quantisation noise
    electricity_resolution_kwh: float = 0.01
    gas_min_delta_m3: float = 0.001
    #: identical interval usage of at least this many register steps, repeated, is a stuck meter
    #: (natural loads of that size always vary; a constant standby of a step or two may not)
    stuck_min_steps: float = 10.0

    @property
    def hourly_share(self) -> float:
        """The hourly change as a share of the 15-minute one (each household's ``min_change_w``
        times this is its hourly change)."""
        hourly = self.electricity_hourly_change_w
        if hourly is None:
            hourly = min(HOURLY_CHANGE_W, self.electricity_min_change_w / 4.0)
        return hourly / self.electricity_min_change_w


#: `lifesign learn`'s methods: ``rhythm`` (hourly weights from a linear programme under each
#: home's longest normal silence) and ``calibrated`` (fitted to the false-alarm budget, held out)
LEARN_METHODS = ("rhythm", "calibrated")


@dataclass(frozen=True)
class LearnBudget:
    """The ``learn:`` section: which method `lifesign learn` uses, and what the ``calibrated``
    method fits each home's thresholds to: its false-alarm budget and bounds.

    ``min_hours`` / ``max_hours`` bound the real silence a learned threshold lets pass before
    the alarm, whatever time of day the silence starts (``rhythm`` keeps its own settings)."""

    false_alarms_per_month: float = 0.5
    min_hours: float = 1.0
    max_hours: float = 16.0
    method: str = LEARN_METHODS[0]


@dataclass(frozen=True)
class Layer:
    """One layer's settings; None = not set here (the layer below decides)."""

    no_usage_hours: float | None = None
    windows: tuple[Window, ...] | None = None
    max_data_lag_minutes: float | None = None
    #: per-utility silence hours (a warning); utilities not listed are not watched alone
    utility_hours: tuple[tuple[Utility, float], ...] | None = None
    offline_hours: float | None = None
    flow_hours: float | None = None
    #: a strong flow (at least strong_flow_lph litres an hour in every interval) for this many
    #: hours is a continuous_flow too, sooner (0: off)
    strong_flow_hours: float | None = None
    strong_flow_lph: float | None = None
    #: today's programmes' rule, "less than max_m3 of water in hours" (None or 0: off)
    volume_max_m3: float | None = None
    volume_hours: float | None = None
    high_factor: float | None = None
    high_min_m3: float | None = None
    min_change_w: float | None = None
    stuck_hours: float | None = None
    #: a silence's threshold may rise to the home's usual silence up to this (0: never raised)
    adapt_max_hours: float | None = None
    #: a load left on through a silence (a lamp burning after a fall) brings the alarm forward to
    #: this many hours of it (0: off), if it stays at least left_on_w above the meter's quiet level
    left_on_hours: float | None = None
    left_on_w: float | None = None
    #: a home watched by its electricity meter alone (no water, no gas) alarms after at least this
    #: many real hours of silence, whatever else would bring it sooner (0: no floor). Off for a
    #: file that leaves it out (an upgrade must not delay a site's alarms unasked); the shipped
    #: files set it
    electricity_only_hours: float | None = None

    def over(self, below: Layer) -> Layer:
        """This layer on top of ``below``: every field this layer sets wins."""
        kwargs = {}
        for f in fields(self):
            mine = getattr(self, f.name)
            kwargs[f.name] = mine if mine is not None else getattr(below, f.name)
        if self.windows and self.adapt_max_hours is None:
            # windows model the home's day (a reviewed `lifesign learn` file): routines raise
            # them only where the same layer says so (`adapt: {max_hours: N}` beside them, as
            # `learn --method calibrated` writes), so files written before keep their behaviour
            kwargs["adapt_max_hours"] = 0.0
        if self.utility_hours is not None and below.utility_hours is not None:
            merged = dict(below.utility_hours)
            merged.update(dict(self.utility_hours))
            kwargs["utility_hours"] = tuple(sorted(merged.items(), key=lambda kv: kv[0].value))
        return Layer(**kwargs)


#: what a file without a value for a field gets
BUILTIN = Layer(
    no_usage_hours=12.0, windows=(), max_data_lag_minutes=20.0, utility_hours=(),
    offline_hours=6.0, flow_hours=3.0, strong_flow_hours=1.0, strong_flow_lph=80.0, high_factor=4.0, high_min_m3=0.5, min_change_w=ActivitySettings.electricity_min_change_w,
    stuck_hours=6.0, adapt_max_hours=24.0, left_on_hours=6.0, left_on_w=40.0, electricity_only_hours=0.0,
)


@dataclass(frozen=True)
class Thresholds:
    activity: ActivitySettings = ActivitySettings()
    defaults: Layer = BUILTIN
    tiers: dict[Tier, Layer] = field(default_factory=dict)
    communities: dict[str, Layer] = field(default_factory=dict)
    grids: dict[str, Layer] = field(default_factory=dict)
    households: dict[str, Layer] = field(default_factory=dict)
    #: local time of the windows and of "a day": the site's zone (see :meth:`load`)
    timezone: str = DEFAULT_TIMEZONE
    source: str = "<defaults>"
    #: the files named by ``include:`` (resolved paths), watched for hot reload too
    includes: tuple[str, ...] = ()
    learn: LearnBudget = LearnBudget()

    def resolve(self, tier: Tier, community: str, grid: str, household_id: str) -> Layer:
        """The settings of one household, every field filled."""
        layer = self.defaults.over(replace(BUILTIN, min_change_w=self.activity.electricity_min_change_w))
        for more in (self.tiers.get(tier), self.communities.get(community), self.grids.get(grid),
                     self.households.get(household_id)):
            if more is not None:
                layer = more.over(layer)
        return layer

    def tz(self) -> tzinfo:
        return parse_timezone(self.timezone)

    def no_usage_hours(self, tier: Tier, household_id: str, community: str = "", grid: str = "") -> float:
        hours = self.resolve(tier, community, grid, household_id).no_usage_hours
        assert hours is not None
        return hours

    def with_households(self, overrides: dict[str, Layer]) -> Thresholds:
        """A copy with more household overrides (learned ones), each on top of any given here."""
        merged = dict(self.households)
        for household_id, layer in overrides.items():
            merged[household_id] = layer.over(merged[household_id]) if household_id in merged else layer
        return replace(self, households=merged)

    def within(self, registry: Registry) -> Thresholds:
        """A copy keeping only the overrides of this registry's households, communities and
        grids: a partition's share of a city's file (check the whole file against the whole
        registry first; here an unknown name is simply another partition's)."""
        communities, grids = set(registry.community.tolist()), set(registry.grid.tolist())
        return replace(self, households={h: v for h, v in self.households.items() if h in registry.household_index},
                       communities={c: v for c, v in self.communities.items() if c in communities},
                       grids={g: v for g, v in self.grids.items() if g in grids})

    @classmethod
    def load(cls, path: str | Path, site_timezone: str | None = None, site_file: str = "site.yaml") -> Thresholds:
        """``site_timezone``: the zone site.yaml names; the file takes it, and refuses a
        ``timezone:`` of its own that names another zone (one local time per site)."""
        return cls.from_node(load_yaml(path, f"named by {site_file}'s thresholds:"), site_timezone, site_file)

    @classmethod
    def parse(cls, text: str, file: str = "<thresholds>", site_timezone: str | None = None,
              site_file: str = "site.yaml") -> Thresholds:
        return cls.from_node(parse_yaml(text, file), site_timezone, site_file)

    @classmethod
    def from_node(cls, root: ConfigNode, site_timezone: str | None = None, site_file: str = "site.yaml") -> Thresholds:
        top = root.mapping(["timezone", "activity", "defaults", "tiers", "communities", "grids",
                            "households", "include", "learn"], required=["defaults"])
        tz_name = site_timezone or DEFAULT_TIMEZONE
        if "timezone" in top:
            given = top["timezone"].string()
            try:
                zone = parse_timezone(given)
            except ValueError as exc:
                raise top["timezone"].error(str(exc)) from None
            if site_timezone is None:
                tz_name = given  # checked on its own (`lifesign config check thresholds.yaml`)
            elif zone != parse_timezone(site_timezone):
                raise top["timezone"].error(
                    f"is {given!r}, but {site_file} sets timezone {site_timezone!r}: local time has one "
                    f"source, so remove timezone from this file or make the two the same")
        activity = _activity(top["activity"]) if "activity" in top else ActivitySettings()
        defaults = _layer(top["defaults"])
        tiers = {Tier(name): _layer(node) for name, node in top["tiers"].mapping([t.value for t in Tier]).items()} \
            if "tiers" in top else {}
        named = {key: {name: _layer(node) for name, node in top[key].mapping().items()} if key in top else {}
                 for key in ("communities", "grids", "households")}
        includes: list[str] = []
        if "include" in top:
            # reviewed `lifesign learn` files: their households lie under the ones given here
            for name in top["include"].strings():
                included = Path(root.file).parent / name
                includes.append(str(included))
                for household_id, layer in _included_households(included, root.file).items():
                    mine = named["households"].get(household_id)
                    named["households"][household_id] = mine.over(layer) if mine is not None else layer
        budget = _learn_budget(top["learn"]) if "learn" in top else LearnBudget()
        return cls(activity=activity, defaults=defaults, tiers=tiers, communities=named["communities"],
                   grids=named["grids"], households=named["households"], timezone=tz_name, source=root.file,
                   includes=tuple(includes), learn=budget)


def _learn_budget(node: ConfigNode) -> LearnBudget:
    keys = [f.name for f in fields(LearnBudget)]
    given = node.mapping(keys)
    kwargs: dict[str, Any] = {"false_alarms_per_month": given["false_alarms_per_month"].number(gt=0, le=30)
                              } if "false_alarms_per_month" in given else {}
    if "method" in given:
        kwargs["method"] = given["method"].choice(LEARN_METHODS)
    for key in ("min_hours", "max_hours"):
        if key in given:
            kwargs[key] = given[key].number(gt=0, le=48)
    budget = LearnBudget(**kwargs)
    if budget.min_hours >= budget.max_hours:
        where = given["max_hours"] if "max_hours" in given else given["min_hours"]
        raise where.error(f"must leave max_hours > min_hours, got min_hours {budget.min_hours:g} "
                          f"and max_hours {budget.max_hours:g}")
    return budget


def households_file(path: str | Path) -> dict[str, Layer]:
    """The overrides of a file that holds only ``households:`` (what `lifesign learn` writes and
    thresholds.yaml includes), checked as strictly as the same entries in thresholds.yaml."""
    return _included_households(Path(path), None)


def _included_households(path: Path, included_by: str | None) -> dict[str, Layer]:
    included = load_yaml(path, f"included by {included_by}" if included_by else None)
    top = included.mapping(["households"], required=["households"])
    return {name: _layer(n) for name, n in top["households"].mapping().items()}


_LAYER_KEYS = ["no_usage", "meter_offline", "meter_stuck", "continuous_flow", "abnormal_high", "low_volume",
               "activity"]


def _layer(node: ConfigNode) -> Layer:
    rules = node.mapping(_LAYER_KEYS)
    kwargs: dict[str, object] = {}
    if "no_usage" in rules:
        nu = rules["no_usage"].mapping(["hours", "windows", "max_data_lag_minutes", "utilities", "adapt", "left_on",
                                        "electricity_only"])
        if "hours" in nu:
            kwargs["no_usage_hours"] = nu["hours"].number(gt=0, le=MAX_HOURS)
        if "windows" in nu:
            kwargs["windows"] = tuple(_window(w) for w in nu["windows"].sequence())
        if "max_data_lag_minutes" in nu:
            kwargs["max_data_lag_minutes"] = nu["max_data_lag_minutes"].number(ge=0, le=24 * 60)
        if "adapt" in nu:
            # `adapt: ~` keeps this layer's thresholds as written, whatever the home's routine
            kwargs["adapt_max_hours"] = 0.0 if nu["adapt"].is_null() else \
                nu["adapt"].mapping(["max_hours"], required=["max_hours"])["max_hours"].number(gt=0, le=MAX_HOURS)
        if "left_on" in nu:
            # `left_on: ~` waits for the whole threshold whatever burns (a heater on a timer)
            kwargs["left_on_hours"], kwargs["left_on_w"] = _hours_above(nu["left_on"], "above_quiet_w", MAX_HOURS)
        if "electricity_only" in nu:
            # `electricity_only: ~` lets a home seen by its power meter alone alarm as any other
            floor = nu["electricity_only"]
            kwargs["electricity_only_hours"] = 0.0 if floor.is_null() else _hours(floor)
        if "utilities" in nu:
            per = nu["utilities"].mapping([u.value for u in Utility])
            kwargs["utility_hours"] = tuple(
                (Utility(name), u.mapping(["hours"], required=["hours"])["hours"].number(gt=0, le=MAX_HOURS))
                for name, u in sorted(per.items())
            )
    if "meter_offline" in rules:
        kwargs["offline_hours"] = _hours(rules["meter_offline"])
    if "meter_stuck" in rules:
        kwargs["stuck_hours"] = _hours(rules["meter_stuck"])
    if "continuous_flow" in rules:
        flow = rules["continuous_flow"].mapping(["hours", "strong"])
        if "hours" in flow:
            kwargs["flow_hours"] = flow["hours"].number(gt=0, le=MAX_HOURS)
        if "strong" in flow:
            # `strong: ~` leaves a fast flow to the slow path (`hours`) like any other
            kwargs["strong_flow_hours"], kwargs["strong_flow_lph"] = _hours_above(flow["strong"], "above_lph",
                                                                                  MAX_STRONG_FLOW_HOURS)
    if "low_volume" in rules:
        water = rules["low_volume"].mapping(["water"], required=["water"])["water"]
        if water.is_null():
            kwargs["volume_max_m3"], kwargs["volume_hours"] = 0.0, 0.0  # switched off in this layer
        else:
            rule = water.mapping(["max_m3", "hours"], required=["max_m3", "hours"])
            kwargs["volume_max_m3"] = rule["max_m3"].number(gt=0, le=10)
            kwargs["volume_hours"] = rule["hours"].number(gt=0, le=MAX_HOURS)
    if "abnormal_high" in rules:
        high = rules["abnormal_high"].mapping(["factor", "min_m3"])
        if "factor" in high:
            kwargs["high_factor"] = high["factor"].number(gt=1)
        if "min_m3" in high:
            kwargs["high_min_m3"] = high["min_m3"].number(gt=0)
    if "activity" in rules:
        per = rules["activity"].mapping(["electricity"])
        site_wide = per["electricity"].mapping(None).get("hourly_change_w")
        if site_wide is not None:
            # the hourly change follows a layer's min_change_w by the site's share
            raise site_wide.error("is site-wide: set it under activity.electricity at the top of the file "
                                  "(a layer's min_change_w moves its hourly change in proportion)")
        electricity = per["electricity"].mapping(["min_change_w"], required=["min_change_w"])
        kwargs["min_change_w"] = electricity["min_change_w"].number(gt=0)
    return Layer(**kwargs)  # type: ignore[arg-type]


def _hours_above(node: ConfigNode, level: str, max_hours: float) -> tuple[float | None, float | None]:
    """A rule that fires after ``hours`` above a level (``left_on``, ``continuous_flow.strong``):
    its (hours, level), None where this layer leaves one to the layer below; ``~`` is off
    (hours 0)."""
    if node.is_null():
        return 0.0, None
    fields_ = node.mapping(["hours", level])
    hours = fields_["hours"].number(gt=0, le=max_hours) if "hours" in fields_ else None
    above = fields_[level].number(gt=0, le=100000) if level in fields_ else None
    return hours, above


def _hours(node: ConfigNode) -> float:
    return node.mapping(["hours"], required=["hours"])["hours"].number(gt=0, le=MAX_HOURS)


def _clock_minutes(node: ConfigNode) -> int:
    text = node.string()
    hh, sep, mm = text.partition(":")
    if not (sep and hh.isdigit() and mm.isdigit() and len(mm) == 2):
        raise node.error(f"must be a local time HH:MM, got {text!r}")
    minutes = int(hh) * 60 + int(mm)
    if not (0 <= int(hh) <= 24 and int(mm) < 60 and minutes <= 24 * 60):
        raise node.error(f"must be a local time from 00:00 to 24:00, got {text!r}")
    if minutes % WINDOW_STEP_MIN:
        raise node.error(f"must be on a quarter hour (:00, :15, :30, :45), got {text!r}")
    return minutes % (24 * 60) if minutes == 24 * 60 else minutes


def _window(node: ConfigNode) -> Window:
    w = node.mapping(["from", "to", "weight"], required=["from", "to", "weight"])
    start, end = _clock_minutes(w["from"]), _clock_minutes(w["to"])
    if start == end:
        raise w["to"].error(f"must differ from 'from' (a window of no time), got {w['to'].string()!r}")
    return Window(start, end, w["weight"].number(gt=0, le=10))


def _activity(node: ConfigNode) -> ActivitySettings:
    per_utility = node.mapping([u.value for u in Utility] + ["stuck_min_steps"])
    kwargs: dict[str, float] = {}
    if "water" in per_utility:
        water = per_utility["water"].mapping(["min_delta_m3", "base_flow_after_minutes"])
        if "min_delta_m3" in water:
            kwargs["water_min_delta_m3"] = water["min_delta_m3"].number(gt=0)
        if "base_flow_after_minutes" in water:
            kwargs["water_base_flow_after_minutes"] = water["base_flow_after_minutes"].number(ge=15, le=24 * 60)
    if "stuck_min_steps" in per_utility:
        kwargs["stuck_min_steps"] = per_utility["stuck_min_steps"].number(ge=1)
    if "electricity" in per_utility:
        electricity = per_utility["electricity"].mapping(["min_change_w", "hourly_change_w", "resolution_kwh"])
        if "min_change_w" in electricity:
            kwargs["electricity_min_change_w"] = electricity["min_change_w"].number(gt=0)
        if "hourly_change_w" in electricity:
            short = kwargs.get("electricity_min_change_w", ActivitySettings.electricity_min_change_w)
            hourly = electricity["hourly_change_w"]
            hourly_w = kwargs["electricity_hourly_change_w"] = hourly.number(gt=0)
            if hourly_w > short:
                raise hourly.error(f"must be at most min_change_w ({short:g} W): an hour's mean moves "
                                   f"less than a quarter hour's, got {hourly_w:g}")
        if "resolution_kwh" in electricity:
            kwargs["electricity_resolution_kwh"] = electricity["resolution_kwh"].number(ge=0)
    if "gas" in per_utility:
        kwargs["gas_min_delta_m3"] = per_utility["gas"].mapping(["min_delta_m3"], required=["min_delta_m3"])["min_delta_m3"].number(gt=0)
    return ActivitySettings(**kwargs)
