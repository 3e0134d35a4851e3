"""Simulator → detectors.Detector → dispatch: a building-wide water cut in the simulator
becomes one infrastructure order for the grid leader and no welfare order for that
building, while an incapacitated resident in the same grid still gets a welfare visit."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from app.demo import default_thresholds
from detectors.detector import Detector
from dispatch.channels import RecordingChannel
from dispatch.dispatcher import Dispatcher
from dispatch.mutes.muters import AbsenceMuter, OutageMuter
from dispatch.mutes.stage import MuteStage
from dispatch.mutes.store import SqliteMuteStore
from dispatch.mutes.storm import StormGuard, StormSettings
from dispatch.orderstores import SqliteWorkOrderStore
from lifesign.clock import ManualClock
from lifesign.grid import Role, Tier
from lifesign.readings import ReadingBatch
from lifesign.registry import Registry
from simulators.cohort import make_cohort
from simulators.incidents import Incident
from simulators.scenario import Scenario

SEED = 5
START = 1_763_654_400.0 - 8 * 3600  # a local (UTC+8) midnight
HOUR, DAY = 3600.0, 86400.0
CUT_BUILDING = "B002"
DEADLINES = {Tier.RED: 900.0, Tier.YELLOW: 3600.0, Tier.GREEN: 14_400.0}


def test_a_simulated_water_cut_is_one_infrastructure_order_and_a_lone_incident_still_a_visit(
    tmp_path: Path,
) -> None:
    cohort = make_cohort(48, SEED)  # grid G01: four buildings of twelve homes
    registry, roster = cohort.registry, cohort.roster
    lone = next(str(h) for h, b in zip(registry.household_ids, registry.building, strict=True) if b == "B004")
    incidents = (
        # water off in the whole building from day 1, 09:00 local, for two days
        Incident("", "water_cut", START + DAY + 9 * HOUR, START + 3 * DAY + 9 * HOUR, building=CUT_BUILDING),
        Incident(lone, "incapacitated", START + DAY + 10 * HOUR),
    )
    scenario = Scenario(cohort, start=START, days=3.5, incidents=incidents, seed=SEED)
    clock = ManualClock(START)
    orders, mutes = SqliteWorkOrderStore(tmp_path / "orders.sqlite"), SqliteMuteStore(tmp_path / "mutes.sqlite")
    # the defaults: a cut's homes cross their water threshold over a few hours (each from its
    # own last use), and the 3 h hold waits for them
    guard = StormGuard(mutes, registry, StormSettings())
    dispatcher = Dispatcher(orders, registry, roster, [RecordingChannel()], clock, DEADLINES,
                            mutes=MuteStage(mutes, [AbsenceMuter(mutes), OutageMuter(mutes)], guard))
    # This cohort's fridges draw at most 90 W, so (as `lifesign learn` would for such homes) a
    # 150 W change is already a person; at 300 W (the shipped 380 W too), two of the cut's homes show no
    # switch for 12 h of their water-less day and rightly get a welfare visit instead.
    thresholds = default_thresholds()
    thresholds = replace(thresholds, activity=replace(thresholds.activity, electricity_min_change_w=150.0))
    detector = Detector(registry, thresholds)
    try:
        readings = []
        for i, round_ in enumerate(scenario.rounds()):
            readings.append(round_.batch)
            clock.advance_to(round_.ts)
            detector.observe(round_.batch)
            if i % 4 == 3:  # an hourly sweep, like the service's
                dispatcher.handle(detector.sweep(round_.ts))
                dispatcher.review()
        opened = orders.list()
        in_cut = {str(h) for h, b in zip(registry.household_ids, registry.building, strict=True)
                  if b == CUT_BUILDING}
        infra = [o for o in opened if o.household_id.startswith(("building:", "grid:"))]
        assert [o.household_id for o in infra] == [f"building:{CUT_BUILDING}"]
        leader = next(w.worker_id for w in roster.workers.values()
                      if w.role is Role.GRID_LEADER and "G01" in w.grids)
        assert infra[0].responsible == leader
        # A cut home gets a welfare visit only if its electricity, the one sign left, showed no
        # switch (a change of 150 W between quarter hours, worked out here from the readings)
        # for a whole threshold (10 h at the least) during the cut.
        visited = {o.household_id for o in opened if o.household_id in in_cut}
        assert visited <= electricity_silent(registry, readings, in_cut, 150.0, 10 * HOUR)
        assert len(visited) <= 2
        assert lone in {o.household_id for o in opened if o.rule == "no_usage"}
        muted = {e.household_id for e in mutes.mute_log() if e.action == "muted"}
        assert muted and muted <= in_cut
    finally:
        orders.close()
        mutes.close()


def electricity_silent(registry: Registry, batches: list[ReadingBatch], homes: set[str], change_w: float,
                       span_s: float) -> set[str]:
    """Homes whose electricity register shows no change of mean power above ``change_w``
    between consecutive intervals for at least ``span_s``."""
    batch = ReadingBatch.concat(batches)
    silent = set()
    for home in homes:
        meters = [k for k, h in enumerate(registry.meter_household)
                  if str(registry.household_ids[h]) == home and registry.meter_utility[k] == 1]
        for meter in meters:
            mine = batch.take(np.flatnonzero(batch.meter == meter)).sorted_by_meter_time()
            power_w = np.diff(mine.value) / np.diff(mine.ts) * 3.6e6
            switch_ts = mine.ts[2:][np.abs(np.diff(power_w)) > change_w]
            if len(switch_ts) and np.diff(switch_ts).max(initial=0.0) >= span_s:
                silent.add(home)
    return silent
