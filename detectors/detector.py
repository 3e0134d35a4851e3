"""The detector: state updated by ingest, swept on a clock, alerts out.

A sweep is one compare (``next_check <= now``) over the households; only those due
(new data since the last look, or a time-driven deadline such as a meter going
offline) are gathered and judged by every rule. Each rule's verdict becomes an
OPENED or CLEARED alert; an episode's key comes from the data, so replays and
restarts give the same keys.

Thread-safe: ingest calls :meth:`Detector.observe` from its worker thread while
the scheduler calls :meth:`Detector.sweep`.

Time: the detector's "now" never goes backwards and never runs ahead of the
newest reading seen by more than the data-lag allowance, so a clock jump (or a
stopped ingest) does not conjure silences or offline meters the data doesn't show.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from detectors.rules.abnormal_high import AbnormalHighRule
from detectors.rules.base import DetectorRule, HouseholdView, Verdicts
from detectors.rules.continuous_flow import ContinuousFlowRule
from detectors.rules.low_volume import LowVolumeRule
from detectors.rules.meter_offline import MeterOfflineRule, MeterStuckRule
from detectors.rules.no_usage import NoUsageRule, UtilitySilenceRule
from detectors.settings import SettingsTable, resolve_settings
from detectors.state import (
    ELECTRICITY,
    HouseholdState,
    MeterState,
    activity_steps,
    change_threshold_kw,
    distinct,
)
from detectors.thresholds import Thresholds
from detectors.usual import Routines, restore
from detectors.volume import LEVELS as VOLUME_LEVELS
from detectors.volume import VolumeWindow
from lifesign.alerts import Alert, AlertState, EpisodeKey, Severity
from lifesign.readings import ReadingBatch
from lifesign.registry import Registry


def all_rules() -> list[DetectorRule]:
    return [NoUsageRule(), UtilitySilenceRule(), MeterOfflineRule(), MeterStuckRule(), ContinuousFlowRule(),
            AbnormalHighRule(), LowVolumeRule()]


@dataclass(frozen=True)
class OpenEpisode:
    start: float
    severity: Severity
    utilities: tuple[str, ...]
    evidence: dict[str, float]


@dataclass(frozen=True)
class _ActivityModel:
    base_flow_after_s: float
    stuck_min_steps: float
    hourly_share: float
    min_change_w: Callable[[npt.NDArray[np.int32]], npt.NDArray[np.float64]]
    volume_quantum: Callable[[npt.NDArray[np.int32]], npt.NDArray[np.float64]]
    left_on_w: Callable[[npt.NDArray[np.int32]], npt.NDArray[np.float64]]
    strong_flow_lph: Callable[[npt.NDArray[np.int32]], npt.NDArray[np.float64]]


class Detector:
    def __init__(self, registry: Registry, thresholds: Thresholds, rules: list[DetectorRule] | None = None) -> None:
        self.registry = registry
        self.meters = MeterState(registry.meter_utility, registry.meter_interval)
        self.households = HouseholdState(registry)
        self.rules = rules if rules is not None else all_rules()
        if len(self.rules) > 8:
            raise ValueError(f"at most 8 rules fit the open-episode bits, got {len(self.rules)}")
        #: per rule slot, the open episode of each household that has one (sparse: few are open)
        self._open: dict[str, dict[int, OpenEpisode]] = {rule.slot: {} for rule in self.rules}
        self._lock = threading.Lock()
        self._now = float("-inf")
        self.thresholds = thresholds
        self.table: SettingsTable
        self.apply_thresholds(thresholds)

    # -- configuration ---------------------------------------------------------
    def apply_thresholds(self, thresholds: Thresholds) -> None:
        """Swap thresholds atomically; raises (and keeps the old ones) if they don't fit the registry."""
        table, rows = resolve_settings(self.registry, thresholds)
        step = activity_steps(thresholds.activity)
        activity = _ActivityModel(thresholds.activity.water_base_flow_after_minutes * 60.0,
                                  thresholds.activity.stuck_min_steps, thresholds.activity.hourly_share,
                                  self._min_change_w, self._volume_quantum,
                                  self._left_on_w, self._strong_flow_lph)
        with self._lock:
            previous = self._volume_by_household() if hasattr(self, "table") else None
            self.table, self._step, self._activity = table, step, activity
            self.households.settings_row = rows
            # low_volume's state exists only while a threshold enables it; a changed max_m3 changes
            # its quantum, so its count starts again from the change
            if not np.isfinite(table.volume_s).any():
                self.meters.volume = None
            elif self.meters.volume is None or previous is None \
                    or not np.array_equal(previous, self._volume_by_household(), equal_nan=True):
                self.meters.volume = VolumeWindow(self.registry.n_meters)
            self.thresholds = thresholds
            # every household is looked at again under the new thresholds
            seen = self.households.seen()
            self.households.next_check[seen] = -np.inf

    # -- data ------------------------------------------------------------------
    def observe(self, batch: ReadingBatch) -> None:
        with self._lock:
            touched, new_meters, first_ts = self.meters.observe(batch, self._step, self._activity, self.table.tz)
            self.households.saw_first(new_meters, first_ts)
            active, at, interval = self.meters.last_activity
            if len(active):
                homes = self.registry.meter_household[active]
                once = distinct(homes)
                before = self.households.activity_before(self.meters, once)[np.searchsorted(once, homes)]
                self.households.usual.learn(homes, at, before, self.table.adapt_s[self.households.settings_row[homes]],
                                            self.table.tz, interval)
            self.households.refresh(self.meters, touched, self.table)

    def activity_in(self, history: ReadingBatch) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float64]]:
        """(meter, time) of every reading in ``history`` that shows activity, observed into this
        detector's state (use a fresh detector: learning and backtests, not the service)."""
        with self._lock:
            self.meters.observe(history, self._step, self._activity, self.table.tz)
            active, at, _ = self.meters.last_activity
            return active, at

    def change_threshold_w(self, meter: int, interval_s: float) -> float:
        """The change of mean power (W) between two readings ``interval_s`` apart that shows
        activity at this electricity meter: its household's ``min_change_w`` and the site's
        hourly share of it, read at the interval as :func:`detectors.state.change_threshold_kw`
        applies them (what a plot draws)."""
        meters = np.array([meter], dtype=np.int32)
        with self._lock:
            kw = change_threshold_kw(self._min_change_w(meters), np.array([float(interval_s)]),
                                     float(self._step[ELECTRICITY]), self._activity.hourly_share)
        return float(kw[0]) * 1000.0

    def _volume_by_household(self) -> npt.NDArray[np.float64]:
        return self.table.volume_max_m3[self.households.settings_row]

    def _volume_quantum(self, meters: npt.NDArray[np.int32]) -> npt.NDArray[np.float64]:
        rows = self.households.settings_row[self.registry.meter_household[meters]]
        return self.table.volume_max_m3[rows] / VOLUME_LEVELS

    def _min_change_w(self, meters: npt.NDArray[np.int32]) -> npt.NDArray[np.float64]:
        rows = self.households.settings_row[self.registry.meter_household[meters]]
        return self.table.min_change_w[rows]

    def _left_on_w(self, meters: npt.NDArray[np.int32]) -> npt.NDArray[np.float64]:
        rows = self.households.settings_row[self.registry.meter_household[meters]]
        return self.table.left_on_w[rows]

    def _strong_flow_lph(self, meters: npt.NDArray[np.int32]) -> npt.NDArray[np.float64]:
        rows = self.households.settings_row[self.registry.meter_household[meters]]
        return self.table.strong_flow_lph[rows]

    # -- sweep -----------------------------------------------------------------
    def due(self, now: float) -> npt.NDArray[np.intp]:
        """The households a sweep at ``now`` must look at: one compare over precomputed times."""
        return np.flatnonzero(self.households.next_check <= now)

    def next_deadline(self) -> float:
        """The event time at which a sweep next has a household to look at (-inf: new data,
        now), or inf when nothing falls due before more data arrives: a sweep never sees
        past the newest reading plus the data-lag allowance, so a deadline beyond that waits."""
        with self._lock:
            earliest = float(self.households.next_check.min(initial=np.inf))
            ceiling = self.meters.newest_ts + self.table.max_lag_s
            return earliest if earliest <= max(ceiling, self._now) else float("inf")

    def effective_now(self, now: float) -> float:
        """Monotonic, and at most the data-lag allowance past the newest reading."""
        bounded = min(float(now), self.meters.newest_ts + self.table.max_lag_s)
        self._now = max(self._now, bounded)
        return self._now

    def sweep(self, now: float) -> list[Alert]:
        """Look at every due household; return opened and cleared alerts."""
        with self._lock:
            now = self.effective_now(now)
            due = self.due(now)
            if not len(due):
                return []
            view = HouseholdView(due, self.meters, self.households, self.table, now,
                                 {slot: {h: e.start for h, e in eps.items()} for slot, eps in self._open.items() if eps})
            next_check = np.full(len(due), np.inf)
            alerts: list[Alert] = []
            for bit, rule in enumerate(self.rules):
                verdicts = rule.evaluate(view)
                next_check = np.minimum(next_check, verdicts.next_check)
                alerts += self._decide(rule, 1 << bit, view, verdicts)
            self.households.next_check[due] = next_check
            return alerts

    def _decide(self, rule: DetectorRule, bit: int, view: HouseholdView, verdicts: Verdicts) -> list[Alert]:
        is_open = (self.households.open_bits[view.h] & bit) != 0
        candidates = np.flatnonzero(verdicts.flagged | is_open)
        if not len(candidates):
            return []
        episodes = self._open[rule.slot]
        alerts: list[Alert] = []
        household_ids = self.registry.household_ids
        for i in candidates:
            h = int(view.h[i])
            current = episodes.get(h)
            flagged = bool(verdicts.flagged[i])
            start = float(verdicts.start[i])
            if current is not None and (not flagged or start != current.start):
                key = EpisodeKey(str(household_ids[h]), rule.rule.value, current.start)
                alerts.append(Alert(key, AlertState.CLEARED, view.now, rule.cleared(view, int(i), current.start, current.utilities),
                                    current.severity, current.utilities))
                del episodes[h]
                self.households.open_bits[h] &= ~np.uint8(bit)
            if flagged and (current is None or start != current.start):
                utilities = view.utilities(int(i), verdicts.culprits)
                evidence = rule.evidence(view, int(i), verdicts)
                episodes[h] = OpenEpisode(start, rule.severity, utilities, evidence)
                self.households.open_bits[h] |= np.uint8(bit)
                key = EpisodeKey(str(household_ids[h]), rule.rule.value, start)
                alerts.append(Alert(key, AlertState.OPENED, view.now, evidence, rule.severity, utilities))
        return alerts

    def open_alerts(self, now: float) -> list[Alert]:
        """An OPENED alert for every episode open now (dispatch reconciles against them)."""
        with self._lock:
            return [
                Alert(EpisodeKey(str(self.registry.household_ids[h]), rule.rule.value, e.start), AlertState.OPENED,
                      now, e.evidence, e.severity, e.utilities)
                for rule in self.rules for h, e in sorted(self._open[rule.slot].items())
            ]

    @property
    def longest_threshold_s(self) -> float:
        """The longest silence any rule may need to see (for rebuilding state from history)."""
        table = self.table
        utility = np.where(np.isfinite(table.utility_s), table.utility_s, 0.0).max(axis=1, initial=0.0)
        weighted = np.maximum(np.maximum(table.home_s, table.adapt_s), utility)
        floor = table.floor_s  # real hours, like offline_s
        # windows stretch a threshold in wall time: a whole day always adds its weighted total,
        # so ceil(T / day total) + 1 days from any start reach T (exact when every weight is 1)
        uniform = (table.profiles.weights == 1.0).all(axis=1)[table.profile_of]
        days = np.ceil(weighted / table.profiles.total[table.profile_of]) + 1.0
        wall = np.where(uniform, weighted, days * 86400.0)
        return float(max(wall.max(initial=0.0), table.offline_s.max(initial=0.0), floor.max(initial=0.0)))

    def routines(self) -> Routines:
        """What was learned of each home's routine (to save across a restart)."""
        with self._lock:
            usual = self.households.usual
            return Routines(np.asarray(self.registry.household_ids, dtype=np.str_), usual.usual.copy(), usual.newest)

    def restore_routines(self, saved: Routines) -> int:
        """Take back what a previous run learned (before rebuilding from history); the number
        of households restored."""
        with self._lock:
            return restore(self.households.usual, self.registry.household_index, saved)

    @property
    def state_nbytes(self) -> int:
        """Every array the detector keeps per meter and household, plus the settings table
        and the open episodes (the registry's own columns not counted)."""
        open_bytes = sum(len(eps) for eps in self._open.values()) * 200  # dict entry + episode, generously
        return self.meters.nbytes + self.households.nbytes + self.table.nbytes + open_bytes
