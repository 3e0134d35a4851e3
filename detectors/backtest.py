"""Replay readings through the detector and score its alerts against ground truth.

:func:`replay` feeds readings in event-time windows (``step_s``) and sweeps at the
end of each window, exactly as the service would have seen them. :func:`score`
matches the alerts to ground truth (``household_id, kind, start[, end, category]``,
the format of ``simulators`` datasets) and counts:

* recall and detection delay (alert time - incident start) for welfare incidents
  (incapacitated, fall_tap_running), leaks separately;
* false alarms: welfare alerts (no_usage CRITICAL, continuous_flow) that match no
  incident, split into "normal living" and those during a known absence, a
  building water/power cut or a meter outage (those are what absences registered
  with the grid worker and dispatch's storm guard exist for);
* warnings (single-utility silence, meter_offline, abnormal_high) per household-month.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from detectors.detector import Detector
from lifesign.alerts import Alert, AlertState, Rule, Severity
from lifesign.readings import ReadingBatch
from lifesign.registry import Registry

#: incidents a welfare alert must catch; leaks are scored on their own
WELFARE_KINDS = ("incapacitated", "fall_tap_running")
LEAK_KINDS = ("leak",)
MONTH_S = 30 * 86400.0


def windows(batch: ReadingBatch, step_s: float) -> Iterator[tuple[float, ReadingBatch]]:
    """(window end, readings) in event-time order; ``batch`` may be in any order."""
    if not len(batch):
        return
    order = np.argsort(batch.ts, kind="stable")
    ts = batch.ts[order]
    first = np.floor(ts[0] / step_s) * step_s
    ends = np.arange(first + step_s, ts[-1] + step_s, step_s)
    bounds = np.searchsorted(ts, ends, side="right")
    lo = 0
    for end, hi in zip(ends, bounds, strict=True):
        if hi > lo:
            yield float(end), batch.take(order[lo:hi])
        lo = hi


def replay(detector: Detector, chunks: Iterable[tuple[float, ReadingBatch]],
           on_chunk: Callable[[float], None] | None = None) -> list[Alert]:
    """Observe each chunk, then sweep at its end time; every alert in order."""
    alerts: list[Alert] = []
    for end, batch in chunks:
        detector.observe(batch)
        alerts += detector.sweep(end)
        if on_chunk is not None:
            on_chunk(end)
    return alerts


def is_welfare(alert: Alert) -> bool:
    return (alert.rule == Rule.NO_USAGE.value and alert.severity is Severity.CRITICAL) \
        or alert.rule == Rule.CONTINUOUS_FLOW.value


@dataclass
class Score:
    household_months: float
    incidents: int = 0
    caught: int = 0
    delays_s: list[float] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)
    leaks: int = 0
    leaks_caught: int = 0
    false_alarms: int = 0
    #: welfare alerts explained by an absence, a building cut or a meter outage
    explained: dict[str, int] = field(default_factory=dict)
    warnings: dict[str, int] = field(default_factory=dict)

    @property
    def recall(self) -> float:
        return self.caught / self.incidents if self.incidents else float("nan")

    @property
    def median_delay_h(self) -> float:
        return float(np.median(self.delays_s)) / 3600 if self.delays_s else float("nan")

    @property
    def false_alarms_per_household_month(self) -> float:
        return self.false_alarms / self.household_months if self.household_months else float("nan")

    def per_household_month(self, count: int) -> float:
        return count / self.household_months if self.household_months else float("nan")


def read_ground_truth(path: str) -> pd.DataFrame:
    """Ground truth CSV; ``household_id, kind, start`` required, ``category, end, building,
    meter_id`` optional (an old-style file lists incidents only)."""
    truth = pd.read_csv(path, dtype={"household_id": str, "building": str, "meter_id": str}, keep_default_na=False)
    return normalise_ground_truth(truth, path)


def normalise_ground_truth(truth: pd.DataFrame, source: str = "ground truth") -> pd.DataFrame:
    truth = truth.copy()
    missing = [c for c in ("household_id", "kind", "start") if c not in truth.columns]
    if missing:
        raise ValueError(f"{source}: ground truth needs the columns household_id, kind, start; missing {', '.join(missing)}")
    truth["household_id"] = truth["household_id"].fillna("").astype(str)
    if "category" not in truth.columns:
        truth["category"] = "incident"
    for column in ("building", "meter_id"):
        if column not in truth.columns:
            truth[column] = ""
    truth["start"] = pd.to_numeric(truth["start"]).astype(float)
    end = pd.to_numeric(truth["end"], errors="coerce") if "end" in truth.columns else pd.Series(np.nan, index=truth.index)
    truth["end"] = end.fillna(np.inf).astype(float)
    return truth


def score(alerts: list[Alert], truth: pd.DataFrame, registry: Registry, start: float, end: float,
          *, grace_s: float = 0.0) -> Score:
    """Match OPENED alerts to ground truth over the run [start, end)."""
    result = Score(household_months=registry.n_households * (end - start) / MONTH_S)
    opened = [a for a in alerts if a.state is AlertState.OPENED]
    building_of = {str(h): str(b) for h, b in zip(registry.household_ids, registry.building, strict=True)}
    household_of_meter = {str(m): str(registry.household_ids[h])
                          for m, h in zip(registry.meter_ids, registry.meter_household, strict=False)}
    incidents = truth[(truth["category"] == "incident") & truth["kind"].isin(WELFARE_KINDS)]
    leaks = truth[(truth["category"] == "incident") & truth["kind"].isin(LEAK_KINDS)]
    # every span that explains an alert in a household: (start, end, cause)
    spans: dict[str, list[tuple[float, float, str]]] = {}
    for row in truth.itertuples(index=False):
        if row.category == "condition":  # a running toilet explains no silence: an alarm during one stays false
            continue
        cause = str(row.kind) if row.category != "incident" or row.kind not in WELFARE_KINDS + LEAK_KINDS else ""
        if not cause:
            continue
        homes = [str(row.household_id)] if row.household_id else \
            [h for h, b in building_of.items() if b == str(row.building)]
        if row.category == "outage" and row.meter_id:
            homes = [household_of_meter.get(str(row.meter_id), str(row.household_id))]
        for h in homes:
            spans.setdefault(h, []).append((float(row.start), float(row.end), cause))
    used: set[int] = set()
    welfare = [(k, a) for k, a in enumerate(opened) if is_welfare(a)]
    for row in incidents.itertuples(index=False):
        if not (start <= row.start < end):
            continue
        result.incidents += 1
        hit = next((k for k, a in welfare if a.household_id == row.household_id and k not in used
                    and a.at >= row.start and a.key.episode_start <= row.start + 900 and a.at < row.end + grace_s), None)
        if hit is None:
            result.missed.append(f"{row.household_id} {row.kind} at {row.start:.0f}")
            continue
        used.add(hit)
        result.caught += 1
        result.delays_s.append(opened[hit].at - float(row.start))
    for row in leaks.itertuples(index=False):
        result.leaks += 1
        if any(a.household_id == row.household_id and a.at >= row.start and a.rule in
               (Rule.CONTINUOUS_FLOW.value, Rule.ABNORMAL_HIGH.value) for a in opened):
            result.leaks_caught += 1
    for k, alert in enumerate(opened):
        if k in used:
            continue
        if is_welfare(alert):
            cause = _explained(alert, spans.get(alert.household_id, []))
            if cause:
                result.explained[cause] = result.explained.get(cause, 0) + 1
            elif not _during_incident(alert, incidents, leaks):
                result.false_alarms += 1
        else:
            name = f"{alert.rule}:{','.join(alert.utilities)}" if alert.rule == Rule.NO_USAGE.value else alert.rule
            result.warnings[name] = result.warnings.get(name, 0) + 1
    return result


def _explained(alert: Alert, spans: list[tuple[float, float, str]]) -> str:
    """The cause of an alert whose silence overlaps an absence, a cut or an outage."""
    for lo, hi, cause in spans:
        if alert.key.episode_start < hi and alert.at >= lo:
            return cause
    return ""


def _during_incident(alert: Alert, incidents: pd.DataFrame, leaks: pd.DataFrame) -> bool:
    """A second alert about an incident already caught (e.g. its flow and its silence)."""
    for frame in (incidents, leaks):
        rows = frame[frame["household_id"] == alert.household_id]
        if ((rows["start"] <= alert.at + 900) & (alert.key.episode_start < rows["end"])).any():
            return True
    return False
