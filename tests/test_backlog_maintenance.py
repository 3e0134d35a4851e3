"""detectors.Detector → dispatch: a district's gateways come back after a day cut off and
send the day at once. While the backlog drains, sweeps see the district's meters hours
behind and raise meter_offline for every home; those clear within seconds and must not
become maintenance orders (nor grid storms), while a meter that really stopped still
gets exactly one maintenance order, once the maintenance grace has passed."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from app.demo import default_thresholds
from app.dispatch_wiring import storm_settings
from detectors.detector import Detector
from dispatch.channels import RecordingChannel
from dispatch.config import StormConfig
from dispatch.defaults import MAINTENANCE_GRACE_S
from dispatch.dispatcher import Dispatcher
from dispatch.mutes.grace import MaintenanceGrace
from dispatch.mutes.muters import AbsenceMuter, OutageMuter
from dispatch.mutes.stage import MuteStage
from dispatch.mutes.store import SqliteMuteStore
from dispatch.mutes.storm import StormGuard
from dispatch.orderstores import SqliteWorkOrderStore
from lifesign.alerts import AlertState
from lifesign.clock import ManualClock
from lifesign.grid import UTILITY_CODES, Address, Household, Meter, Resident, Tier, Utility
from lifesign.readings import ReadingBatch
from lifesign.registry import Registry
from lifesign.roster import Roster

H, STEP = 3600.0, 900.0
D0 = 1_763_654_400.0 - 8 * H  # a local (UTC+8) midnight
NOW = D0 + 24 * H  # when the district's gateways come back
OFFLINE_S = 6 * H  # the shipped thresholds' meter_offline limit
DEADLINES = {Tier.RED: 900.0, Tier.YELLOW: 3600.0, Tier.GREEN: 14_400.0}
# the district C1: 20 homes in 3 grids, cut off for the whole day; C2 reports live
DISTRICT = [(f"H1{g}{i:02d}", "C1", f"G1{g}") for g, n in ((1, 7), (2, 7), (3, 6)) for i in range(n)]
LIVE = [(f"H2{i:02d}", "C2", "G21") for i in range(6)]
STOPPED = "H203"  # its electricity meter stops reporting at 05:00 and never comes back
STOP_AT = D0 + 5 * H
ROSTER = """
workers:
  - {id: gw-1, name: W, role: grid_worker, phone: "+86 138 0000 0001", buildings: [BG11, BG12, BG13, BG21]}
  - {id: gl-1, name: L, role: grid_leader, phone: "+86 138 0000 0002", grids: [G11, G12, G13, G21]}
  - {id: mt-1, name: M, role: maintenance, phone: "+86 138 0000 0003", communities: [C1, C2]}
  - {id: desk, name: D, role: duty_desk, phone: "+86 21 0000 0000", communities: [C1, C2]}
"""


def registry() -> Registry:
    households = [Household(h, Address(c, g, f"B{g}", "1", f"{i:03d}"), Resident("R", 80, "p", "e"),
                            Tier.YELLOW) for i, (h, c, g) in enumerate(DISTRICT + LIVE)]
    meters = [Meter(f"{u.value[0]}-{h.household_id}", h.household_id, u, f"GW-{h.address.grid}")
              for h in households for u in (Utility.WATER, Utility.ELECTRICITY)]
    return Registry.from_records(households, meters)


def day_of_readings(reg: Registry, homes: list[str], rng: np.random.Generator) -> list[ReadingBatch]:
    """One batch per quarter hour of the day: water used now and then, power that varies."""
    meters = np.flatnonzero(np.isin(reg.household_ids[reg.meter_household], homes))
    water = reg.meter_utility[meters] == UTILITY_CODES[Utility.WATER]
    stops = (reg.meter_household[meters] == reg.household_index[STOPPED]) & ~water
    register = np.zeros(len(meters))
    rounds = []
    for k in range(96):
        ts = D0 + k * STEP
        register += np.where(water, rng.uniform(0.005, 0.03, len(meters)) * (rng.random(len(meters)) < 0.4),
                             rng.choice([0.05, 0.3, 0.8], len(meters)))
        keep = ~stops if ts >= STOP_AT else np.ones(len(meters), dtype=bool)
        rounds.append(ReadingBatch.of(meters[keep], np.full(int(keep.sum()), ts), register[keep].copy()))
    return rounds


def maintenance(orders: SqliteWorkOrderStore) -> list[tuple[str, str]]:
    return sorted((o.household_id, o.rule) for o in orders.list() if "meter_" in o.rule)


@pytest.mark.parametrize("hold_minutes", [0.0, 180.0])
def test_a_drained_backlog_opens_no_maintenance_order_and_a_dead_meter_exactly_one(
    tmp_path: Path, hold_minutes: float
) -> None:
    reg, roster = registry(), Roster.parse(ROSTER)
    rng = np.random.default_rng(11)
    live = day_of_readings(reg, [h for h, _, _ in LIVE], rng)
    backlog = day_of_readings(reg, [h for h, _, _ in DISTRICT], rng)
    clock = ManualClock(D0)  # the dispatcher's wall clock
    orders, mutes = SqliteWorkOrderStore(tmp_path / "orders.sqlite"), SqliteMuteStore(tmp_path / "mutes.sqlite")
    grace = MaintenanceGrace()
    guard = StormGuard(mutes, reg, storm_settings(StormConfig(hold_minutes=hold_minutes)), grace)
    dispatcher = Dispatcher(orders, reg, roster, [RecordingChannel()], clock, DEADLINES,
                            mutes=MuteStage(mutes, [AbsenceMuter(mutes), OutageMuter(mutes)], guard))
    detector = Detector(reg, default_thresholds())
    wait_s = max(MAINTENANCE_GRACE_S, hold_minutes * 60.0)
    try:
        # the live district's day, swept every quarter hour in real time
        seen_at: float | None = None
        before: list[tuple[str, str]] = []
        for batch in live:
            ts = float(batch.ts[0])
            clock.advance_to(ts)
            detector.observe(batch)
            alerts = detector.sweep(ts)
            if seen_at is None and any(a.key.rule == "meter_offline" for a in alerts):
                seen_at = ts
            dispatcher.handle(alerts)
            if seen_at is not None and ts < seen_at + wait_s:
                before = maintenance(orders)
        # the dead meter's last reading was the quarter hour before it stopped
        assert seen_at == STOP_AT - STEP + OFFLINE_S
        assert before == []  # nothing within the grace (and the storm guard's hold)
        assert maintenance(orders) == [(STOPPED, "meter_offline")]
        (dead,) = [o for o in orders.list() if o.rule == "meter_offline"]
        # opened at the first review once the wait was over (reviews every quarter hour)
        assert dead.opened_at == seen_at + math.ceil(wait_s / STEP) * STEP

        # the district's gateways come back: its day arrives in 12 bursts of two hours'
        # readings, a second of wall time apart, each followed by a sweep
        clock.advance_to(NOW)
        raised: set[str] = set()
        for burst in range(12):
            clock.advance(1.0)
            detector.observe(ReadingBatch.concat(backlog[burst * 8:(burst + 1) * 8]))
            alerts = detector.sweep(NOW)
            raised |= {a.household_id for a in alerts
                       if a.key.rule == "meter_offline" and a.state is AlertState.OPENED}
            dispatcher.handle(alerts)
        # the first bursts leave every district meter more than 6 h behind: all raise
        assert raised == {h for h, _, _ in DISTRICT}
        assert not [a for a in detector.open_alerts(NOW) if a.household_id in raised]
        clock.advance(wait_s + STEP)
        dispatcher.review()
        assert maintenance(orders) == [(STOPPED, "meter_offline")]
        assert not [o for o in orders.list() if o.household_id.startswith(("grid:", "building:"))]
        withdrawn = {e.household_id for e in mutes.mute_log() if e.action == "withdrawn"}
        assert withdrawn == raised
    finally:
        orders.close()
        mutes.close()
