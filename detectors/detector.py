"""The detector: state updated by ingest, swept on a clock, alerts out.

Thread-safe: ingest calls :meth:`Detector.observe` from its worker thread while
the scheduler calls :meth:`Detector.sweep`.
"""

from __future__ import annotations

import threading

import numpy as np
import numpy.typing as npt

from detectors.rules.base import DetectorRule
from detectors.rules.no_usage import NoUsageRule
from detectors.state import HouseholdState, MeterState, activity_coefficients
from lifesign.alerts import Alert, AlertState, EpisodeKey
from lifesign.grid import TIER_BY_CODE
from lifesign.readings import ReadingBatch
from lifesign.registry import Registry
from lifesign.thresholds import Thresholds


def household_thresholds_s(registry: Registry, thresholds: Thresholds) -> npt.NDArray[np.float64]:
    """The no_usage threshold of every household in seconds, layered tier → override."""
    by_tier = np.array(
        [thresholds.no_usage_hours(TIER_BY_CODE[code], "") for code in sorted(TIER_BY_CODE)]
    )
    hours = by_tier[registry.tier.astype(np.intp)]
    for household_id, settings in thresholds.household_no_usage.items():
        index = registry.household_index.get(household_id)
        if index is None:
            raise LookupError(
                f"{thresholds.source}: households.{household_id} is not a registered household"
            )
        hours[index] = settings.hours
    return hours * 3600.0


class Detector:
    def __init__(self, registry: Registry, thresholds: Thresholds) -> None:
        self.registry = registry
        self.meters = MeterState(registry.meter_utility)
        self.households = HouseholdState(registry)
        self.rules: list[DetectorRule] = [NoUsageRule(registry.meter_utility)]
        #: per rule, the start of the open episode of each household (NaN: none open)
        self._open = {rule.name: np.full(registry.n_households, np.nan) for rule in self.rules}
        self._lock = threading.Lock()
        self.thresholds = thresholds
        self.apply_thresholds(thresholds)

    def apply_thresholds(self, thresholds: Thresholds) -> None:
        """Swap thresholds atomically; raises (and keeps the old ones) if they don't fit the registry."""
        threshold_s = household_thresholds_s(self.registry, thresholds)
        a, b = activity_coefficients(thresholds.activity)
        with self._lock:
            self._a, self._b = a, b
            self.households.set_thresholds(threshold_s)
            self.thresholds = thresholds

    def observe(self, batch: ReadingBatch) -> None:
        with self._lock:
            touched = self.meters.observe(batch, self._a, self._b)
            self.households.refresh(self.meters, touched)

    def sweep(self, now: float) -> list[Alert]:
        """Compare every household against its deadline; return opened and cleared alerts."""
        alerts: list[Alert] = []
        with self._lock:
            for rule in self.rules:
                findings = rule.evaluate(self.meters, self.households, now)
                open_start = self._open[rule.name]
                is_open = ~np.isnan(open_start)
                # An episode whose start moved (activity, then a new silence) is a new episode.
                same_episode = findings.flagged & is_open & (findings.episode_start == open_start)
                clear = is_open & ~same_episode
                opening = findings.flagged & ~same_episode
                for household in np.flatnonzero(clear):
                    key = EpisodeKey(str(self.registry.household_ids[household]), rule.name, float(open_start[household]))
                    anchor = float(self.households.anchor[household])
                    # Dispatch records "usage resumed" only when activity really moved the anchor;
                    # a raised threshold withdraws the alert without claiming a sign of life.
                    evidence = {"usage_resumed": anchor} if anchor != open_start[household] else {"withdrawn": 1.0}
                    alerts.append(Alert(key, AlertState.CLEARED, now, evidence))
                    open_start[household] = np.nan
                for household in np.flatnonzero(opening):
                    start = float(findings.episode_start[household])
                    key = EpisodeKey(str(self.registry.household_ids[household]), rule.name, start)
                    alerts.append(Alert(key, AlertState.OPENED, now, rule.evidence(self.meters, self.households, int(household))))
                    open_start[household] = start
        return alerts

    def open_alerts(self, now: float) -> list[Alert]:
        """An OPENED alert for every episode open now (dispatch reconciles against them)."""
        with self._lock:
            return [
                Alert(EpisodeKey(str(self.registry.household_ids[h]), rule.name, float(self._open[rule.name][h])),
                      AlertState.OPENED, now, rule.evidence(self.meters, self.households, int(h)))
                for rule in self.rules
                for h in np.flatnonzero(~np.isnan(self._open[rule.name]))
            ]

    @property
    def state_nbytes(self) -> int:
        """Every array the detector keeps (the registry's own columns not counted)."""
        return (self.meters.nbytes + self.households.nbytes + self._a.nbytes + self._b.nbytes
                + sum(a.nbytes for a in self._open.values()))
