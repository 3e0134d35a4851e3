"""One household's history as a plot needs it: each meter's usage per reading, when the
detector saw activity, the threshold that activity had to pass, and each alert as the
silence it was about (from the silence's start, not from the moment it was raised)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo

import numpy as np
import numpy.typing as npt
import pandas as pd

from app.messages import Complaint, Messages
from detectors.detector import Detector
from detectors.thresholds import Thresholds
from lifesign.alerts import Alert, AlertState, EpisodeKey, Severity
from lifesign.readings import ReadingBatch
from lifesign.registry import Registry

F8 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class MeterSeries:
    meter_id: str
    utility: str
    #: the end of each reading's interval (epoch s), and the interval's length (s)
    ts: F8
    interval_s: F8
    #: usage in each interval: litres (water, gas) or Wh (electricity)
    usage: F8
    #: when this meter showed activity (the detector's own activity model)
    activity_ts: F8
    #: what activity had to pass: litres above a constant flow (water, gas), or the change of
    #: mean power in W between two readings (electricity) at the meter's usual interval
    threshold: float
    usual_interval_s: float

    @property
    def power_w(self) -> F8:
        return self.usage * 3600.0 / np.maximum(self.interval_s, 1.0)

    @property
    def change_w(self) -> F8:
        """How much the mean power moved from the reading before (NaN at the first one)."""
        change = np.full(len(self.ts), np.nan)
        change[1:] = np.abs(np.diff(self.power_w))
        return change


@dataclass(frozen=True)
class AlertSpan:
    rule: str
    #: the episode's start: for no_usage the last activity, where the silence began
    start: float
    #: when the detector raised the alert
    raised: float
    #: when it cleared, or the end of the data if it never did
    end: float
    #: a warning (one utility silent) is drawn apart from a critical alert
    warning: bool = False


@dataclass(frozen=True)
class HouseholdHistory:
    household_id: str
    meters: list[MeterSeries]
    spans: list[AlertSpan]
    #: ground-truth incidents of the home or its building: (start, kind)
    incidents: list[tuple[float, str]]
    #: ground-truth absences of the resident: (start, end); they explain alarms
    absences: list[tuple[float, float]]
    tz: tzinfo
    zone: str

    @property
    def first(self) -> float:
        return min(float(m.ts[0] - m.interval_s[0]) for m in self.meters if len(m.ts))

    @property
    def last(self) -> float:
        return max(float(m.ts[-1]) for m in self.meters if len(m.ts))


def span_label(span: AlertSpan, say: Messages) -> str:
    """A no_usage episode is a silence; the others (a flow, an offline meter) merely begin and end."""
    rule = say.word("rule", span.rule) + (say("plot.warning") if span.warning else "")
    return say("plot.silence" if span.rule == "no_usage" else "plot.episode", rule=rule)


def household_history(registry: Registry, batch: ReadingBatch, alerts: list[Alert], household_id: str,
                      thresholds: Thresholds, truth: pd.DataFrame | None = None) -> HouseholdHistory:
    if household_id not in registry.household_index:
        raise Complaint("plot.unknown_household", household=household_id)
    h = registry.household_index[household_id]
    meters = registry.meters_of(h)
    mine = np.flatnonzero(np.isin(batch.meter, meters))
    if not len(mine):
        raise Complaint("history.empty", source=f"{household_id}'s meters")
    # a fresh detector sees exactly the activity the replay's did: activity is a pure function
    # of each meter's readings
    probe = Detector(registry, thresholds)
    active_meter, active_ts = probe.activity_in(batch.take(mine))
    series = [_meter_series(registry, batch, m, active_ts[active_meter == m], probe, thresholds) for m in meters]
    last = max(float(s.ts[-1]) for s in series if len(s.ts))
    return HouseholdHistory(household_id, series, _spans(alerts, household_id, last),
                            _incidents(truth, household_id, str(registry.building[h])),
                            _absences(truth, household_id, last), thresholds.tz(), thresholds.timezone)


def _meter_series(registry: Registry, batch: ReadingBatch, meter: int, activity_ts: F8, probe: Detector,
                  thresholds: Thresholds) -> MeterSeries:
    rows = np.flatnonzero(batch.meter == meter)
    order = rows[np.argsort(batch.ts[rows], kind="stable")]
    ts, value = batch.ts[order], batch.value[order]
    interval = np.diff(ts)
    # an interval-usage meter's value is already the interval's usage; a register's is the difference
    used = value[1:] if registry.meter_interval[meter] else np.diff(value)
    used = np.where(used < 0, 0.0, used)  # a register reset is no usage (the detector re-baselines)
    utility = registry.meter(meter).utility.value
    usual = float(np.median(interval)) if len(interval) else 900.0
    activity = thresholds.activity
    if utility == "electricity":
        usage, threshold = used * 1000.0, probe.change_threshold_w(meter, usual)
    else:
        step = activity.gas_min_delta_m3 if utility == "gas" else activity.water_min_delta_m3
        usage, threshold = used * 1000.0, step * 1000.0
    return MeterSeries(str(registry.meter_ids[meter]), utility, ts[1:], interval, usage, np.sort(activity_ts),
                       threshold, usual)


def _spans(alerts: list[Alert], household_id: str, last: float) -> list[AlertSpan]:
    """Each episode from its start to its clearing (or the end of the data)."""
    opened: dict[EpisodeKey, Alert] = {}
    spans: list[AlertSpan] = []
    for alert in alerts:
        if alert.household_id != household_id:
            continue
        if alert.state is AlertState.OPENED:
            opened[alert.key] = alert
        elif alert.key in opened:
            first = opened.pop(alert.key)
            spans.append(AlertSpan(alert.rule, alert.key.episode_start, first.at, alert.at,
                                   first.severity is Severity.WARNING))
    spans += [AlertSpan(a.rule, a.key.episode_start, a.at, max(last, a.at), a.severity is Severity.WARNING)
              for a in opened.values()]
    return sorted(spans, key=lambda s: (s.start, s.rule))


def _incidents(truth: pd.DataFrame | None, household_id: str, building: str) -> list[tuple[float, str]]:
    if truth is None or not len(truth):
        return []
    mine = truth["household_id"] == household_id
    if "building" in truth.columns:
        mine |= (truth["household_id"] == "") & (truth["building"].astype(str) == building)
    if "category" in truth.columns:
        mine &= truth["category"].isin(["incident", "outage"])
    return sorted((float(r.start), str(r.kind)) for r in truth[mine].itertuples(index=False))


def _absences(truth: pd.DataFrame | None, household_id: str, last: float) -> list[tuple[float, float]]:
    if truth is None or not len(truth) or "category" not in truth.columns:
        return []
    away = truth[(truth["household_id"] == household_id) & (truth["category"] == "absence")]
    return sorted((float(r.start), min(float(r.end), last)) for r in away.itertuples(index=False))


__all__ = ["AlertSpan", "HouseholdHistory", "MeterSeries", "household_history", "span_label"]
