"""`lifesign demo`: the whole pipeline on embedded defaults, in one command.

An embedded pure-Python broker, a seeded simulated cohort with injected incidents,
the service (ingest → detector → dispatch) on a manual clock that the simulator
advances, a progress line, and at the end the work orders beside the ground truth.
"""

from __future__ import annotations

import secrets
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, TextIO

import paho.mqtt.client as mqtt

from app.embedded_broker import EmbeddedBroker
from app.service import Service, ServiceParts
from app.site import DispatchSettings, ScheduleSettings
from app.web.settings import WebSettings
from app.web.staff import StaffRole
from detectors.thresholds import Thresholds
from dispatch.escalation import responsible_for
from lifesign.clock import DEFAULT_TZ, ManualClock
from lifesign.mqttclient import BrokerSettings
from lifesign.workorders import WorkOrder
from simulators.cohort import make_cohort
from simulators.dataset import write_ground_truth
from simulators.gateways import GatewayPublisher
from simulators.incidents import Incident
from simulators.scenario import Scenario, pick_incidents

#: the demo's homes live in the default site zone
LOCAL = DEFAULT_TZ


def default_thresholds() -> Thresholds:
    text = resources.files("app").joinpath("defaults/thresholds.yaml").read_text(encoding="utf-8")
    return Thresholds.parse(text, "app/defaults/thresholds.yaml")


@dataclass
class DemoResult:
    workdir: Path
    incidents: tuple[Incident, ...]
    orders: list[WorkOrder]
    assignees_expected: dict[str, str] = field(default_factory=dict)

    @property
    def caught(self) -> set[str]:
        return {o.household_id for o in self.orders} & {i.household_id for i in self.incidents}

    @property
    def ok(self) -> bool:
        """Every incident caught, by the right worker, and no order for anyone else."""
        right_worker = all(o.responsible == self.assignees_expected.get(o.household_id) for o in self.orders)
        return len(self.caught) == len(self.incidents) and not self.false_orders and right_worker

    @property
    def false_orders(self) -> list[WorkOrder]:
        truth = {i.household_id for i in self.incidents}
        return [o for o in self.orders if o.household_id not in truth]


def scenario_start(days: float) -> float:
    """Local midnight `days` before today, so the demo's dates read as recent."""
    today = datetime.now(LOCAL).replace(hour=0, minute=0, second=0, microsecond=0)
    return (today - timedelta(days=days)).timestamp()


def run_demo(
    *, households: int = 120, days: float = 4, incidents: int = 4, seed: int = 7,
    pace_s: float = 0.03, workdir: Path | None = None, broker_port: int | None = None,
    broker_host: str = "127.0.0.1", start: float | None = None, out: TextIO = sys.stdout,
    console_tickets: bool = True, web_port: int | None = 0, serve_after: Callable[[DemoResult], None] | None = None,
) -> DemoResult:
    """``web_port``: the staff desk's port (0: a free one; None: no desk); ``serve_after``
    runs once the report's orders are in, while the desk still serves (e.g. wait for Ctrl-C)."""
    workdir = Path(workdir or tempfile.mkdtemp(prefix="lifesign-demo-"))
    workdir.mkdir(parents=True, exist_ok=True)
    cohort = make_cohort(households, seed)
    cohort.write(workdir / "registry")
    start = start if start is not None else scenario_start(days)
    chosen = pick_incidents(cohort, incidents, start, days, seed)
    scenario = Scenario(cohort, start=start, days=days, incidents=chosen, seed=seed)
    write_ground_truth(scenario, workdir / "ground_truth.csv")

    embedded = EmbeddedBroker(host=broker_host) if broker_port is None else None
    if embedded is not None:
        embedded.start()
    port = embedded.port if embedded is not None else broker_port
    assert port is not None
    try:
        clock = ManualClock(start)
        parts = ServiceParts(
            broker=BrokerSettings(host=broker_host, port=port, client_id=f"lifesign-demo-{seed}"),
            registry=cohort.registry, roster=cohort.roster, thresholds=default_thresholds(),
            data_dir=workdir / "var",
            # wall-clock intervals: the manual clock makes each one many simulated minutes
            schedule=ScheduleSettings(sweep_s=0.05, escalation_s=0.1, reload_s=3600),
            dispatch=DispatchSettings(console=console_tickets),
            web=None if web_port is None else WebSettings(bind=broker_host, port=web_port),
        )
        service = Service(parts, clock, console=out)
        if service.web is not None:
            password = secrets.token_urlsafe(12)
            service.web.staff.add("demo", StaffRole.OPERATOR, "", password, clock.now())
        service.start()
        try:
            if service.web is not None:
                print(f"staff desk: {service.web.url}/ops  (log in as demo / {password}); "
                      "each ticket carries its worker's link", file=out, flush=True)
            published = _publish(scenario, clock, pace_s, out, service)
            _wait_ingested(service, published, timeout_s=120)
            service.sweep()
            orders = service.orders.list()
            if serve_after is not None:
                serve_after(DemoResult(workdir, chosen, orders, _expected(cohort, chosen)))
        finally:
            service.stop()
    finally:
        if embedded is not None:
            embedded.stop()
    return DemoResult(workdir, chosen, orders, _expected(cohort, chosen))


def _expected(cohort: Any, chosen: tuple[Incident, ...]) -> dict[str, str]:
    """The grid worker of each incident's building: who should get its order."""
    return {i.household_id: responsible_for(cohort.roster, cohort.registry.household_by_id(i.household_id)).worker_id
            for i in chosen}


def _wait_ingested(service: Service, published: int, timeout_s: float) -> None:
    """Wait until every published message has been taken in (stored or rejected) and acked."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if service.ingestor.counters.messages_acked >= published and service.wait_idle(1.0):
            return
        time.sleep(0.05)
    raise TimeoutError(
        f"ingest took in {service.ingestor.counters.messages_received} of {published} published messages "
        f"within {timeout_s:.0f} s"
    )


def _publish(scenario: Scenario, clock: ManualClock, pace_s: float, out: TextIO, service: Service) -> int:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="lifesign-demo-gateways",
                         protocol=mqtt.MQTTv311)
    parts = service.parts
    client.connect(parts.broker.host, parts.broker.port)
    client.loop_start()
    try:
        publisher = GatewayPublisher(client, parts.registry)
        interactive = out.isatty() if hasattr(out, "isatty") else False
        last_print = [0.0]

        def progress(i: int, n: int, round_: object) -> None:
            now = time.monotonic()
            if i + 1 != n and now - last_print[0] < 0.5:
                return
            last_print[0] = now
            counters = service.ingestor.counters.snapshot()
            when = datetime.fromtimestamp(clock.now(), LOCAL).strftime("%a %d %b %H:%M")
            line = (f"[sim {when}] round {i + 1}/{n}  readings stored {counters.get('readings_stored', 0):,}"
                    f"  open orders {len(service.orders.list())}")
            print(("\r" + line) if interactive else line, end="" if interactive else "\n", file=out, flush=True)

        published = publisher.run(scenario, clock, on_round=progress, pace_s=pace_s)
        if interactive:
            print(file=out)
        return published
    finally:
        client.disconnect()  # first: it wakes the network thread, which then ends at once
        client.loop_stop()


def print_report(result: DemoResult, out: TextIO = sys.stdout) -> None:
    print("\nWork orders", file=out)
    print(f"{'order':>5}  {'household':<9} {'rule':<9} {'assigned to':<11} {'now with':<8} "
          f"{'status':<9} {'silent since':<12} {'threshold':>9}  opened", file=out)
    for order in result.orders:
        since = datetime.fromtimestamp(order.key.episode_start, LOCAL).strftime("%a %H:%M")
        opened = datetime.fromtimestamp(order.opened_at, LOCAL).strftime("%a %H:%M")
        threshold_h = order.evidence.get("threshold_s", float("nan")) / 3600
        print(f"{order.order_id:>5}  {order.household_id:<9} {order.rule:<9} {order.responsible:<11} "
              f"{order.assignee:<8} {order.status.value:<9} {since:<12} {threshold_h:>8.0f}h  {opened}", file=out)
    print("(nobody acknowledges in the demo, so unanswered orders escalate: grid worker → "
          "grid leader → duty desk → emergency contact)", file=out)
    print("\nGround truth (injected incidents)", file=out)
    by_household = {o.household_id: o for o in result.orders}
    for incident in result.incidents:
        found = by_household.get(incident.household_id)
        started = datetime.fromtimestamp(incident.start, LOCAL).strftime("%a %H:%M")
        if found is None:
            verdict = "MISSED"
        else:
            covers = result.assignees_expected[incident.household_id]
            verdict = (f"order {found.order_id} assigned to {found.responsible}"
                       f" ({'the' if found.responsible == covers else 'NOT the'} grid worker of its building)")
        print(f"  {incident.household_id} {incident.kind} from {started}: {verdict}", file=out)
    print(f"\nCaught {len(result.caught)}/{len(result.incidents)} incidents; "
          f"{len(result.false_orders)} work orders for households without an incident.", file=out)
    print(f"Data kept in {result.workdir}; try: lifesign orders list --data-dir {result.workdir / 'var'}", file=out)
