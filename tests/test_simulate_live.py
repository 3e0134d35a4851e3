"""`lifesign simulate` drives the running pipeline through a real mosquitto with gateway faults on.

The simulator reports what its gateways sent (duplicates, reorderings, garbage by kind);
the pipeline's ingest counters must account for every one of them.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.demo import default_thresholds
from app.service import Service, ServiceParts
from app.site import DispatchSettings, ScheduleSettings
from lifesign.clock import WallClock
from lifesign.mqttclient import BrokerSettings
from simulators.scenario_file import ScenarioSpec

SCENARIO = Path(__file__).resolve().parents[1] / "configs" / "scenarios" / "live-faults.yaml"
LIFESIGN = str(Path(sys.executable).with_name("lifesign"))

pytestmark = pytest.mark.mosquitto


def wait_taken_in(service: Service, messages: int, timeout_s: float = 120.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        counters = service.ingestor.counters.snapshot()
        if int(counters["messages_acked"]) >= messages and service.wait_idle(1.0):  # type: ignore[call-overload]
            return service.ingestor.counters.snapshot()
        time.sleep(0.1)
    raise AssertionError(f"ingest took in {service.ingestor.counters.snapshot()} of {messages} messages")


def test_ingest_counters_account_for_every_fault_the_gateways_report(tmp_path: Path, mosquitto_port: int) -> None:
    spec = ScenarioSpec.load(SCENARIO)
    assert spec.faults.duplicate_p > 0 and spec.faults.reorder_p > 0 and spec.faults.garbage_p > 0
    cohort = spec.build().cohort  # the cohort depends on the seed only, not on the start
    parts = ServiceParts(
        broker=BrokerSettings(host="127.0.0.1", port=mosquitto_port, client_id="lifesign-live-sim-test"),
        registry=cohort.registry, roster=cohort.roster, thresholds=default_thresholds(),
        data_dir=tmp_path / "var", schedule=ScheduleSettings(sweep_s=0.5, escalation_s=1.0, reload_s=3600),
        dispatch=DispatchSettings(console=False),
    )
    service = Service(parts, WallClock())  # the scenario starts yesterday: every reading is in the past
    service.start()
    try:
        report_path = tmp_path / "report.json"
        done = subprocess.run(
            [LIFESIGN, "simulate", "--scenario", str(SCENARIO), "--broker", f"127.0.0.1:{mosquitto_port}",
             "--report", str(report_path)],
            check=False, capture_output=True, text=True, timeout=240,
        )
        assert done.returncode == 0, done.stderr
        report = json.loads(report_path.read_text())
        counters = wait_taken_in(service, int(report["published"]))
    finally:
        service.stop()

    # the faults really happened
    assert report["duplicated_readings"] > 0 and report["reordered_readings"] > 0
    assert report["offline_spells"] > 0 and report["nbiot_uploads"] > 0 and report["skewed_gateways"] > 0
    assert sum(report["garbage_payloads"].values()) > 0
    # ... and ingest saw every one of them
    assert report["published"] == report["messages"]
    assert counters["messages_received"] == report["messages"]
    assert counters["readings_received"] == report["readings_sent"]
    assert counters["readings_stored"] == report["unique_readings"]
    assert counters["duplicates"] == report["duplicated_readings"]
    assert counters["rejected"] == report["expected_rejections"]
    assert counters["register_resets"] == 0
    # late: new points older than their meter's newest reading so far, in arrival order.
    # A message held back and sent right after the gateway's next one usually lands in
    # the same ingest batch, so ingest must count within a batch in arrival order too.
    assert counters["late"] == report["reordered_readings"]
