"""A run of the cohort through simulated days, with absences and incidents, as register readings.

Assumptions of the model:

* Rounds of ``interval_s`` (15 min by default): every meter whose cadence
  (:mod:`simulators.meters`) falls on a round's end reports its cumulative register
  with that timestamp, unless an outage (``meter_offline``, a ``power_cut``) keeps it quiet.
* Initial registers are random but seeded (an old meter shows a large number).
* The routine (:mod:`simulators.routine`, with the chosen :class:`Lifestyle`) is
  changed by absences (:mod:`simulators.absences`) and incidents
  (:mod:`simulators.incidents`).
* Homes are computed in blocks of ``chunk_households`` and time windows of a few days,
  so a million homes fit in memory; a block's result does not depend on the blocking.
* :func:`pick_incidents` starts incidents while the resident is awake (at least 1 h
  after the usual wake time and 1 h before the usual bed time), at home, and at least
  20 h before the scenario ends, so even a 16 h no-usage threshold is crossed in the run.
* ``timezone`` (IANA, default ``Asia/Shanghai``) is the residents' wall clock, daylight
  saving included (:mod:`simulators.localtime`). Loads left on after an incident
  (:func:`simulators.incidents.leave_loads_on`) draw power until the end of the run;
  ``conditions`` (:mod:`simulators.conditions`: running toilets) add their flow.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import numpy.typing as npt

from lifesign.clock import DEFAULT_TIMEZONE, DEFAULT_UTC_OFFSET_HOURS
from lifesign.grid import UTILITY_CODES, Utility
from lifesign.readings import ReadingBatch
from simulators.absences import Absence
from simulators.accrual import RoundGrid, Windows
from simulators.cohort import Cohort
from simulators.conditions import Condition
from simulators.effects import Effects, Spans
from simulators.incidents import KINDS, STOPPING_KINDS, Incident
from simulators.lifestyle import Lifestyle
from simulators.localtime import LocalClock, fixed_zone
from simulators.meters import MeterCadence, registers_to_values
from simulators.routine import DAY, HOUR, Routine

FloatArray = npt.NDArray[np.float64]
#: an incident starts this long before the end at the latest (16 h threshold + margin)
MIN_LEAD_S = 20.0 * HOUR
_STREAM_REGISTERS, _STREAM_INCIDENTS = 0x52454753, 0x494E4344
_WATER, _ELECTRICITY, _GAS = (UTILITY_CODES[u] for u in (Utility.WATER, Utility.ELECTRICITY, Utility.GAS))


@dataclass(frozen=True)
class Round:
    """Every reporting meter's register at ``ts``, the end of one reporting interval."""

    ts: float
    batch: ReadingBatch


@dataclass(frozen=True)
class RegisterBlock:
    """Registers (m³, kWh, m³) of a block of households over a window of rounds."""

    rows: slice
    first_round: int
    grid: RoundGrid
    water_m3: FloatArray
    electricity_kwh: FloatArray
    gas_m3: FloatArray


@dataclass(frozen=True)
class Scenario:
    cohort: Cohort
    start: float
    days: float
    interval_s: int = 900
    incidents: tuple[Incident, ...] = ()
    seed: int = 0
    #: the residents' wall clock: an IANA zone (daylight saving included) or a fixed "UTC+08:00"
    timezone: str = DEFAULT_TIMEZONE
    lifestyle: Lifestyle = field(default_factory=Lifestyle)
    absences: tuple[Absence, ...] = ()
    #: per-meter reporting cadence; None: every meter every round
    cadence: MeterCadence | None = None
    chunk_households: int = 16384
    #: running toilets and the like: neither incidents nor signs of life
    conditions: tuple[Condition, ...] = ()

    def __post_init__(self) -> None:
        if not self.interval_s > 0:
            raise ValueError(f"Scenario.interval_s must be > 0, got {self.interval_s}")
        if self.n_rounds < 1:
            raise ValueError(f"Scenario.days must cover at least one interval of {self.interval_s} s, got {self.days}")
        registry = self.cohort.registry
        buildings = set(registry.building.tolist())
        stopped: set[str] = set()
        for k, incident in enumerate(self.incidents):
            where = f"Scenario.incidents[{k}]"
            if incident.household_id and incident.household_id not in registry.household_index:
                raise ValueError(f"{where}.household_id must be a household of the cohort, got {incident.household_id!r}")
            if incident.building and incident.building not in buildings:
                raise ValueError(f"{where}.building must be a building of the cohort, got {incident.building!r}")
            if incident.meter_id and incident.meter_id not in registry.meter_index:
                raise ValueError(f"{where}.meter_id must be a meter of the cohort, got {incident.meter_id!r}")
            if incident.kind in STOPPING_KINDS:
                if incident.household_id in stopped:
                    raise ValueError(f"{where}: household {incident.household_id} already has an incident that stops all activity")
                stopped.add(incident.household_id)
        for k, absence in enumerate(self.absences):
            if absence.household_id not in registry.household_index:
                raise ValueError(f"Scenario.absences[{k}].household_id must be a household of the cohort, got {absence.household_id!r}")
        for k, condition in enumerate(self.conditions):
            if condition.household_id not in registry.household_index:
                raise ValueError(f"Scenario.conditions[{k}].household_id must be a household of the cohort, got {condition.household_id!r}")
        try:
            _ = self.clock  # building the clock checks the start and the timezone
        except ValueError as e:
            raise ValueError(f"Scenario.{e}") from None
        if self.cadence is not None:
            self.cadence.check(self.interval_s)

    @property
    def n_rounds(self) -> int:
        return int(self.days * DAY // self.interval_s)

    @property
    def end(self) -> float:
        return self.start + self.n_rounds * self.interval_s

    @cached_property
    def clock(self) -> LocalClock:
        return LocalClock(self.timezone)

    @property
    def utc_offset_hours(self) -> float:
        """The zone's offset at the start of the run (for display; days follow :attr:`clock`)."""
        return self.clock.offset_s(self.start) / HOUR

    def routine(self) -> Routine:
        return Routine(self.cohort.homes, self.seed, lifestyle=self.lifestyle, timezone=self.timezone,
                       cache_days=max(8, int(self.days) + 4))

    def active_until(self) -> FloatArray:
        """Per household: when an incident stops its activity (``inf`` if never)."""
        until = np.full(self.cohort.n_households, np.inf)
        for incident in self.incidents:
            if incident.kind in STOPPING_KINDS:
                i = self.cohort.registry.household_index[incident.household_id]
                until[i] = min(until[i], incident.start)
        return until

    def initial_registers(self) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Water litres, electricity Wh, gas litres on the registers at ``start``."""
        n = self.cohort.n_households
        u = np.random.default_rng([self.seed, _STREAM_REGISTERS]).random((n, 3))
        water_l = np.floor(20_000.0 + 1_980_000.0 * u[:, 0])
        electricity_wh = 10.0 * np.floor(100_000.0 + 2_900_000.0 * u[:, 1])
        gas_l = np.floor(50_000.0 + 2_950_000.0 * u[:, 2])
        return water_l, electricity_wh, gas_l

    # -- what changes the routine, for a block of homes ------------------------------
    @cached_property
    def _absence_columns(self) -> tuple[npt.NDArray[np.int64], FloatArray, FloatArray]:
        index = self.cohort.registry.household_index
        return (np.array([index[a.household_id] for a in self.absences], dtype=np.int64),
                np.array([a.start for a in self.absences], dtype=float), np.array([a.end for a in self.absences], dtype=float))

    @cached_property
    def _condition_columns(self) -> tuple[npt.NDArray[np.int64], FloatArray, FloatArray, FloatArray]:
        """Household index, start, end and L/h of each condition: a city has 50k running toilets."""
        index = self.cohort.registry.household_index
        c = self.conditions
        return (np.array([index[x.household_id] for x in c], dtype=np.int64), np.array([x.start for x in c], dtype=float),
                np.array([x.end for x in c], dtype=float), np.array([x.lph for x in c], dtype=float))

    def effects(self, rows: slice) -> Effects:
        registry = self.cohort.registry
        index = registry.household_index
        origin, span = self.start - 30 * DAY, (self.days + 60) * DAY

        def local(household_id: str) -> int | None:
            i = index[household_id]
            return i - rows.start if rows.start <= i < rows.stop else None

        h, a_start, a_end = self._absence_columns
        inside = (h >= rows.start) & (h < rows.stop)
        away = list(zip((h[inside] - rows.start).tolist(), a_start[inside].tolist(), a_end[inside].tolist()))
        stop: list[tuple[int, float, float]] = []
        spans: dict[str, list[tuple[int, float, float, float]]] = {
            "thin": [], "flow": [], "water_off": [], "power_off": [], "power_on": []}
        building_rows: dict[str, np.ndarray] = {}
        for incident in self.incidents:
            if incident.kind in ("water_cut", "power_cut"):
                if incident.building not in building_rows:
                    members = np.flatnonzero(registry.building[rows] == incident.building)
                    building_rows[incident.building] = members
                key = "water_off" if incident.kind == "water_cut" else "power_off"
                spans[key].extend((int(r), incident.start, incident.end, 0.0) for r in building_rows[incident.building])
                continue
            r = local(incident.household_id) if incident.household_id else None
            if r is None or incident.kind == "meter_offline":
                continue
            if incident.kind in STOPPING_KINDS:
                stop.append((r, incident.start, math.inf))
                if incident.left_on_w > 0:
                    spans["power_on"].append((r, incident.start, math.inf, incident.left_on_w))
            if incident.kind == "illness":
                spans["thin"].append((r, incident.start, incident.end, incident.magnitude))
            if incident.kind in ("leak", "fall_tap_running"):
                spans["flow"].append((r, incident.start, incident.end, incident.magnitude))
        h, c_start, c_end, c_lph = self._condition_columns
        inside = (h >= rows.start) & (h < rows.stop)
        spans["flow"].extend(zip((h[inside] - rows.start).tolist(), c_start[inside].tolist(), c_end[inside].tolist(),
                                 c_lph[inside].tolist()))

        def windows(items: list[tuple[int, float, float]]) -> Windows:
            if not items:
                return Windows.empty()
            r, a, b = (np.array(x) for x in zip(*items))
            return Windows(r.astype(np.int64), a, b, origin, span)

        def as_spans(items: list[tuple[int, float, float, float]]) -> Spans | None:
            if not items:
                return None
            r, a, b, v = (np.array(x) for x in zip(*items))
            return Spans(r.astype(np.int64), a.astype(float), b.astype(float), v.astype(float))

        return Effects(away=(windows(away), windows(stop)), thin=as_spans(spans["thin"]),
                       water_flow=as_spans(spans["flow"]), water_off=as_spans(spans["water_off"]),
                       power_off=as_spans(spans["power_off"]), power_on=as_spans(spans["power_on"]))

    @cached_property
    def silenced_meters(self) -> list[tuple[npt.NDArray[np.int64], float, float]]:
        """(meter indexes, start, end) during which meters send nothing."""
        registry = self.cohort.registry
        out: list[tuple[npt.NDArray[np.int64], float, float]] = []
        for incident in self.incidents:
            if incident.kind == "meter_offline":
                out.append((np.array([registry.meter_index[incident.meter_id]]), incident.start, incident.end))
            elif incident.kind == "power_cut":
                homes = np.flatnonzero(registry.building == incident.building)
                in_building = np.isin(registry.meter_household, homes)
                meters = in_building & (registry.meter_utility == _ELECTRICITY)
                if incident.magnitude >= 1.0:  # the building's gateways lose power too
                    gateways = np.unique(registry.meter_gateway[in_building])
                    meters |= np.isin(registry.meter_gateway, gateways)
                out.append((np.flatnonzero(meters), incident.start, incident.end))
        return out

    # -- registers ------------------------------------------------------------------
    def blocks(self, *, time_major: bool = False, window_rounds: int | None = None) -> Iterator[RegisterBlock]:
        """Registers of every block of homes over every window of rounds.

        ``time_major`` walks windows in time order with every block inside (for
        publishing rounds); otherwise each block of homes runs through all windows
        (for datasets at scale: the routine's day plans stay cached).
        """
        n = self.cohort.n_households
        per_day = max(1, int(DAY // self.interval_s))
        window = window_rounds or per_day * max(1, min(7, int(2_000_000 // max(n * per_day, 1))))
        chunks = [slice(a, min(a + self.chunk_households, n)) for a in range(0, n, self.chunk_households)]
        windows = [(k, min(k + window, self.n_rounds)) for k in range(0, self.n_rounds, window)]
        routine = self.routine()
        water, electricity, gas = self.initial_registers()
        effects = {c.start: self.effects(c) for c in chunks}
        pairs = [(c, w) for w in windows for c in chunks] if time_major else [(c, w) for c in chunks for w in windows]
        for rows, (k0, k1) in pairs:
            grid = RoundGrid(self.start + k0 * self.interval_s, float(self.interval_s), k1 - k0)
            used = routine.usage_matrix(grid, rows, effects[rows.start])
            w = water[rows][:, None] + np.cumsum(used.water_l, axis=1)
            e = electricity[rows][:, None] + np.cumsum(used.electricity_wh, axis=1)
            g = gas[rows][:, None] + np.cumsum(used.gas_l, axis=1)
            water[rows], electricity[rows], gas[rows] = w[:, -1], e[:, -1], g[:, -1]
            yield RegisterBlock(rows, k0, grid, *registers_to_values(w, e, g))

    def readings(self, block: RegisterBlock) -> ReadingBatch:
        """The block's readings in (ts, meter) order, without meters that do not report then."""
        registry = self.cohort.registry
        owner = registry.meter_household
        lo, hi = np.searchsorted(owner, [block.rows.start, block.rows.stop])
        meters = np.arange(lo, hi)
        local = owner[lo:hi] - block.rows.start
        utility = registry.meter_utility[lo:hi]
        values = np.where(
            (utility == _WATER)[:, None], block.water_m3[local],
            np.where((utility == _ELECTRICITY)[:, None], block.electricity_kwh[local], block.gas_m3[local]),
        )
        ts = block.grid.start + (np.arange(block.grid.n) + 1) * block.grid.interval_s
        present = np.ones(values.shape, dtype=bool)
        if self.cadence is not None:
            steps = (self.cadence.every_s[lo:hi] // int(self.interval_s))[:, None]
            present &= ((block.first_round + np.arange(block.grid.n) + 1)[None, :] % steps) == 0
        for silenced, a, b in self.silenced_meters:
            rows = silenced[(silenced >= lo) & (silenced < hi)] - lo
            if len(rows):
                present[rows] &= ~((ts >= a) & (ts < b))[None, :]
        keep = present.T.ravel()
        return ReadingBatch(
            np.tile(meters.astype(np.int32), block.grid.n)[keep],
            np.repeat(ts, len(meters))[keep],
            values.T.ravel()[keep],
        )

    def rounds(self) -> Iterator[Round]:
        """Every round in time order, all meters that report in it (in registry order)."""
        pending: list[ReadingBatch] = []
        window: tuple[int, int] | None = None
        for block in self.blocks(time_major=True):
            key = (block.first_round, block.grid.n)
            if window is not None and key != window:
                yield from _split_rounds(pending)
                pending = []
            window = key
            pending.append(self.readings(block))
        yield from _split_rounds(pending)


def _split_rounds(parts: list[ReadingBatch]) -> Iterator[Round]:
    if not parts:
        return
    batch = ReadingBatch.concat(parts)
    order = np.argsort(batch.ts, kind="stable")
    batch = batch.take(order)
    cuts = np.flatnonzero(np.diff(batch.ts)) + 1
    for idx in np.split(np.arange(len(batch)), cuts):
        if len(idx):
            yield Round(float(batch.ts[idx[0]]), batch.take(idx))


def _waking_windows(
    wake_hour: float, sleep_hour: float, lo: float, hi: float, clock: LocalClock
) -> list[tuple[float, float]]:
    """Waking windows (usual wake + 1 h .. usual bed time - 1 h) of each day, inside [lo, hi]."""
    windows = []
    first = clock.local_day(lo) - 1
    last = clock.local_day(hi) + 1
    for day in range(first, last + 1):
        midnight = clock.midnight(day)
        wake, sleep = clock.real(day, midnight + np.array([wake_hour + 1.0, sleep_hour - 1.0]) * HOUR).tolist()
        a = max(lo, wake)
        b = min(hi, sleep)
        if b > a:
            windows.append((a, b))
    return windows


def pick_incidents(
    cohort: Cohort,
    n: int,
    start: float,
    days: float,
    seed: int,
    *,
    kind: str = "incapacitated",
    utc_offset_hours: float = DEFAULT_UTC_OFFSET_HOURS,
    avoid: tuple[Absence, ...] = (),
    exclude: frozenset[str] = frozenset(),
    timezone: str | None = None,
) -> tuple[Incident, ...]:
    """``n`` incidents in distinct households, while awake and at home, at least 20 h before the end.

    In runs long enough (latest start two days or more in) they start no earlier than
    one day in, so detectors that learn a home's rhythm have seen a day of it. ``avoid``
    lists absences (a home's incident starts neither during one nor in the 20 h before
    one); ``exclude`` households are never chosen. ``timezone`` (an IANA name) wins over
    a fixed ``utc_offset_hours``.
    """
    if kind not in KINDS or kind in ("water_cut", "power_cut", "meter_offline"):
        raise ValueError(f"pick_incidents: kind must be a household kind, got {kind!r}")
    candidates = np.array([i for i, h in enumerate(cohort.registry.household_ids) if h not in exclude], dtype=np.int64)
    if not 0 <= n <= len(candidates):
        raise ValueError(f"pick_incidents: n must be within 0..{len(candidates)} (the cohort size), got {n}")
    hi = start + days * DAY - MIN_LEAD_S
    if hi <= start:
        raise ValueError(f"pick_incidents: days must exceed {MIN_LEAD_S / DAY:.3f} so incidents start 20 h before the end, got {days}")
    lo = start + DAY if hi - start >= 2 * DAY else start
    rng = np.random.default_rng([seed, _STREAM_INCIDENTS])
    chosen = rng.choice(candidates, size=n, replace=False)
    clock = LocalClock(timezone or fixed_zone(utc_offset_hours))
    away: dict[str, list[tuple[float, float]]] = {}
    for absence in avoid:
        away.setdefault(absence.household_id, []).append((absence.start - MIN_LEAD_S, absence.end))
    def at_home_awake(index: int) -> list[tuple[float, float]]:
        household_id = str(cohort.registry.household_ids[index])
        windows = _waking_windows(float(cohort.homes.wake_hour[index]), float(cohort.homes.sleep_hour[index]),
                                  lo, hi, clock)
        return _minus(windows, sorted(away.get(household_id, [])))

    # a home away for the whole window cannot hold an incident: another home takes its place,
    # drawn from a stream of its own, so the other picks (and their times) stay as they were
    spare = iter(np.random.default_rng([seed, _STREAM_INCIDENTS, 1]).permutation(np.setdiff1d(candidates, chosen)))
    incidents = []
    for index in chosen:
        windows = at_home_awake(int(index))
        while not windows:
            index = next(spare, None)
            if index is None:
                raise ValueError(
                    f"pick_incidents: fewer than {n} households are ever awake at home between "
                    f"{clock.iso(lo)} and {clock.iso(hi)}; give the scenario more days")
            windows = at_home_awake(int(index))
        household_id = str(cohort.registry.household_ids[index])
        lengths = np.array([b - a for a, b in windows])
        a, b = windows[int(rng.choice(len(windows), p=lengths / lengths.sum()))]
        incidents.append(Incident(household_id, kind, float(np.floor(a + rng.random() * (b - a)))))
    return tuple(sorted(incidents, key=lambda x: (x.start, x.household_id)))


def _minus(windows: list[tuple[float, float]], holes: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Windows with the holes cut out."""
    out = windows
    for ha, hb in holes:
        out = [piece for a, b in out for piece in ((a, min(b, ha)), (max(a, hb), b)) if piece[1] > piece[0]]
    return out


__all__ = ["MIN_LEAD_S", "RegisterBlock", "Round", "Scenario", "pick_incidents"]
