"""Child process of test_kill_during_escalation: a dispatcher on an accelerated clock.

    python escalation_child.py DATA_DIR WEBHOOK_URL BASE_WALL SPEED

Simulated time is T0 + (wall - BASE_WALL) * SPEED, the same formula in every run, so a
restart carries on at the right moment (downtime counts, as it would in real life).
It announces "ready" once imported and opened, then re-announces the alerts, escalates
and delivers in a loop, and exits 0 when every order has climbed its whole chain and
every delivery is confirmed. The parent SIGKILLs it at random moments.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dispatch_grid import HOUSEHOLDS, ROSTER_YAML, T0

from dispatch.channels.webhook import WebhookChannel
from dispatch.dispatcher import Dispatcher
from dispatch.orderstores import SqliteWorkOrderStore
from lifesign.alerts import Alert, AlertState, EpisodeKey
from lifesign.grid import Meter, Tier, Utility
from lifesign.registry import Registry
from lifesign.roster import Roster

#: simulated seconds; at SPEED 1500 a red deadline is 0.4 s of wall time
DEADLINES = {Tier.RED: 600.0, Tier.YELLOW: 900.0, Tier.GREEN: 1200.0}
WATCHED = ("H0001", "H0002", "H0003")


class AcceleratedClock:
    def __init__(self, base_wall: float, speed: float) -> None:
        self.base_wall = base_wall
        self.speed = speed

    def now(self) -> float:
        return T0 + (time.time() - self.base_wall) * self.speed


def registry() -> Registry:
    meters = [Meter(f"W-{h.household_id}", h.household_id, Utility.WATER, "GW1") for h in HOUSEHOLDS]
    return Registry.from_records(HOUSEHOLDS, meters)


def main() -> int:
    data_dir, url, base_wall, speed = Path(sys.argv[1]), sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
    reg, roster = registry(), Roster.parse(ROSTER_YAML)
    clock = AcceleratedClock(base_wall, speed)
    store = SqliteWorkOrderStore(data_dir / "orders.sqlite")
    dispatcher = Dispatcher(store, reg, roster, [WebhookChannel(url, timeout_s=2.0)], clock, DEADLINES,
                            retry_base_s=30.0, retry_max_s=60.0, claim_lease_s=60.0)
    alerts = [Alert(EpisodeKey(h, "no_usage", T0 - 50_000), AlertState.OPENED, T0, {"threshold_s": 43_200.0})
              for h in WATCHED]
    chain_length = {h: len(dispatcher.assigner.chain(h, "no_usage", None)) for h in WATCHED}
    print("ready", flush=True)
    while True:
        dispatcher.handle(alerts)  # the detector re-announces open episodes every sweep
        dispatcher.escalate_due()
        dispatcher.deliver_pending()
        orders = store.list()
        finished = len(orders) == len(WATCHED) and all(
            o.escalation_level == chain_length[o.household_id] - 1 for o in orders)
        if finished and not [d for d in store.deliveries() if d.pending]:
            return 0
        time.sleep(0.005)


if __name__ == "__main__":
    sys.exit(main())
