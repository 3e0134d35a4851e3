"""Dispatch: alerts to orders, with and without the mute stage, and the cost of a review.

    python benchmarks/dispatch_stages.py [--alerts 2000]

Prints, for a burst of new no_usage alerts (one per home, SQLite stores in a temp dir):
- baseline: the chain without the mute stages (resume -> assign -> dedup -> enqueue);
- with them (mute -> storms -> release over mutes.sqlite: absences, outages, storm guard):
  critical alerts straight through, and warning (one utility) alerts the storm guard holds;
- one more pass without alerts (the review every sweep runs) with that many alerts held,
  and with none;
- the delivery of the queued tickets through a recording channel.
Latency goal (DESIGN.md): an alert reaches the worker's MQTT topic within 1 s (p99), so
per-alert dispatch cost must stay far below that; a review runs every 10 s sweep.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from dispatch.channels import RecordingChannel
from dispatch.defaults import ack_deadlines_s
from dispatch.dispatcher import Dispatcher
from dispatch.mutes.muters import AbsenceMuter, OutageMuter
from dispatch.mutes.stage import MuteStage
from dispatch.mutes.store import SqliteMuteStore
from dispatch.mutes.storm import StormGuard, StormSettings
from dispatch.orderstores import SqliteWorkOrderStore
from lifesign.alerts import Alert, AlertState, EpisodeKey, Severity
from lifesign.clock import ManualClock
from lifesign.grid import Address, Household, Meter, Resident, Tier, Utility
from lifesign.registry import Registry
from lifesign.roster import Roster

T0 = 1_763_700_000.0


def city(n: int) -> tuple[Registry, Roster]:
    homes = [Household(f"H{i:06d}", Address("C1", f"G{i // 480:03d}", f"B{i // 12:05d}", "1", str(i % 12)),
                       Resident(f"R{i}", 80, "+86 139 0000 0000", "Son +86 137 0000 0000"), Tier.YELLOW)
             for i in range(n)]
    meters = [Meter(f"W{i}", h.household_id, Utility.WATER, "GW") for i, h in enumerate(homes)]
    buildings = sorted({h.address.building for h in homes})
    grids = sorted({h.address.grid for h in homes})
    lines = ["workers:"]
    for k in range(0, len(buildings), 8):
        lines.append(f"  - {{id: gw-{k}, name: W{k}, role: grid_worker, phone: '1', "
                     f"buildings: [{', '.join(buildings[k:k + 8])}]}}")
    lines.append(f"  - {{id: gl, name: L, role: grid_leader, phone: '1', grids: [{', '.join(grids)}]}}")
    lines.append("  - {id: desk, name: D, role: duty_desk, phone: '1', communities: [C1]}")
    return Registry.from_records(homes, meters), Roster.parse("\n".join(lines))


def alerts(n: int, severity: Severity) -> list[Alert]:
    # every 12th home only: no building reaches a storm, so the held ones stay held
    return [Alert(EpisodeKey(f"H{i:06d}", "no_usage", T0 - 50_000), AlertState.OPENED, T0, {"threshold_s": 43_200.0},
                  severity, ("water",) if severity is Severity.WARNING else ("electricity", "water"))
            for i in range(0, n * 12, 12)]


def run(n: int) -> None:
    registry, roster = city(n * 12)
    rows = []
    for label, muted, severity in [("baseline: no mute stage", False, Severity.CRITICAL),
                                   ("mute stage, critical (passes)", True, Severity.CRITICAL),
                                   ("mute stage, warning (held)", True, Severity.WARNING)]:
        with tempfile.TemporaryDirectory() as tmp:
            clock = ManualClock(T0)
            orders = SqliteWorkOrderStore(Path(tmp) / "orders.sqlite")
            mutes = SqliteMuteStore(Path(tmp) / "mutes.sqlite")
            stage = (MuteStage(mutes, [AbsenceMuter(mutes), OutageMuter(mutes)],
                               StormGuard(mutes, registry, StormSettings())) if muted else None)
            d = Dispatcher(orders, registry, roster, [RecordingChannel()], clock, ack_deadlines_s(),
                           mutes=stage)
            burst = alerts(n, severity)
            t = time.perf_counter()
            d.handle(burst)
            handle_s = time.perf_counter() - t
            t = time.perf_counter()
            d.review()
            review_s = time.perf_counter() - t
            t = time.perf_counter()
            delivered = 0
            while batch := d.deliver_pending():  # 100 claimed per call
                delivered += batch
            deliver_s = time.perf_counter() - t
            rows.append((label, n / handle_s, handle_s / n * 1e3, review_s * 1e3, delivered,
                         deliver_s / max(delivered, 1) * 1e3))
            orders.close()
            mutes.close()
    print(f"{'case':<32} {'alerts/s':>9} {'ms/alert':>9} {'review ms':>10} {'delivered':>9} {'ms/delivery':>11}")
    for label, rate, per, review, delivered, per_delivery in rows:
        print(f"{label:<32} {rate:>9.0f} {per:>9.2f} {review:>10.1f} {delivered:>9} {per_delivery:>11.2f}")
    print(f"({n} alerts in {n * 12} homes; SQLite synchronous=FULL, so each order and delivery is an fsync)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=2000)
    run(parser.parse_args().alerts)
