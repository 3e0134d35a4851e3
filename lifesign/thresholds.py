"""Detection thresholds, layered: defaults → tier → household override.

``thresholds.yaml``::

    activity:                    # what counts as a sign of life
      water: {min_delta_m3: 0.001}        # one register step (1 L)
      electricity: {min_power_w: 150, resolution_kwh: 0.01}  # average power above fridge + standby
      gas: {min_delta_m3: 0.001}
    defaults:
      no_usage: {hours: 12}
    tiers:
      red: {no_usage: {hours: 10}}
      yellow: {no_usage: {hours: 12}}
      green: {no_usage: {hours: 16}}
    households:
      H0042: {no_usage: {hours: 6}}       # per-home override, wins over its tier

Household ids in ``households`` are checked against the registry when the
detector resolves them, not here: this file is valid on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lifesign.config.source import ConfigNode, load_yaml, parse_yaml
from lifesign.grid import Tier, Utility


@dataclass(frozen=True)
class NoUsageSettings:
    hours: float


@dataclass(frozen=True)
class ActivitySettings:
    water_min_delta_m3: float = 0.001
    electricity_min_power_w: float = 150.0
    #: one register step; an increase of one step is never activity on its own, because
    #: a fridge alone moves the register one step every few minutes
    electricity_resolution_kwh: float = 0.01
    gas_min_delta_m3: float = 0.001


@dataclass(frozen=True)
class Thresholds:
    activity: ActivitySettings
    default_no_usage: NoUsageSettings
    tier_no_usage: dict[Tier, NoUsageSettings] = field(default_factory=dict)
    household_no_usage: dict[str, NoUsageSettings] = field(default_factory=dict)
    source: str = "<defaults>"

    def no_usage_hours(self, tier: Tier, household_id: str) -> float:
        if household_id in self.household_no_usage:
            return self.household_no_usage[household_id].hours
        if tier in self.tier_no_usage:
            return self.tier_no_usage[tier].hours
        return self.default_no_usage.hours

    @classmethod
    def load(cls, path: str | Path) -> Thresholds:
        return cls.from_node(load_yaml(path))

    @classmethod
    def parse(cls, text: str, file: str = "<thresholds>") -> Thresholds:
        return cls.from_node(parse_yaml(text, file))

    @classmethod
    def from_node(cls, root: ConfigNode) -> Thresholds:
        top = root.mapping(["activity", "defaults", "tiers", "households"], required=["defaults"])
        activity = _activity(top["activity"]) if "activity" in top else ActivitySettings()
        defaults = top["defaults"].mapping(["no_usage"], required=["no_usage"])
        tier_settings: dict[Tier, NoUsageSettings] = {}
        if "tiers" in top:
            for name, node in top["tiers"].mapping([t.value for t in Tier]).items():
                rules = node.mapping(["no_usage"])
                if "no_usage" in rules:
                    tier_settings[Tier(name)] = _no_usage(rules["no_usage"])
        household_settings: dict[str, NoUsageSettings] = {}
        if "households" in top:
            for household_id, node in top["households"].mapping().items():
                rules = node.mapping(["no_usage"])
                if "no_usage" in rules:
                    household_settings[household_id] = _no_usage(rules["no_usage"])
        return cls(
            activity=activity,
            default_no_usage=_no_usage(defaults["no_usage"]),
            tier_no_usage=tier_settings,
            household_no_usage=household_settings,
            source=root.file,
        )


def _no_usage(node: ConfigNode) -> NoUsageSettings:
    fields = node.mapping(["hours"], required=["hours"])
    return NoUsageSettings(hours=fields["hours"].number(gt=0, le=24 * 14))


def _activity(node: ConfigNode) -> ActivitySettings:
    per_utility = node.mapping([u.value for u in Utility])
    kwargs: dict[str, float] = {}
    if "water" in per_utility:
        kwargs["water_min_delta_m3"] = per_utility["water"].mapping(["min_delta_m3"], required=["min_delta_m3"])["min_delta_m3"].number(gt=0)
    if "electricity" in per_utility:
        electricity = per_utility["electricity"].mapping(["min_power_w", "resolution_kwh"], required=["min_power_w"])
        kwargs["electricity_min_power_w"] = electricity["min_power_w"].number(gt=0)
        if "resolution_kwh" in electricity:
            kwargs["electricity_resolution_kwh"] = electricity["resolution_kwh"].number(ge=0)
    if "gas" in per_utility:
        kwargs["gas_min_delta_m3"] = per_utility["gas"].mapping(["min_delta_m3"], required=["min_delta_m3"])["min_delta_m3"].number(gt=0)
    return ActivitySettings(**kwargs)
