"""The service's dispatch wiring: an absence added on the CLI while the service runs mutes a
home, ending it hands the silence over at the next sweep, and the ticket reaches a real
webhook receiver configured in the dispatch section."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from brokers import free_port
from receiver import Receiver

from app.cli import main as cli
from app.demo import default_thresholds
from app.service import Service, ServiceParts
from app.site import DispatchSettings, ScheduleSettings
from dispatch.config import ChannelSettings
from lifesign.alerts import Alert, AlertState, EpisodeKey, Severity
from lifesign.clock import ManualClock
from lifesign.mqttclient import BrokerSettings
from simulators.cohort import make_cohort


def test_cli_absence_mutes_and_releases_through_the_service(
    tmp_path: Path, mosquitto_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    cohort = make_cohort(24, 3)
    home = str(cohort.registry.household_ids[5])
    http = Receiver(free_port())
    http.start()
    clock = ManualClock(time.time())  # the CLI stamps absences with wall time
    parts = ServiceParts(
        broker=BrokerSettings(port=mosquitto_port, client_id="wiring-test"), registry=cohort.registry,
        roster=cohort.roster, thresholds=default_thresholds(), data_dir=tmp_path / "var",
        schedule=ScheduleSettings(),
        dispatch=DispatchSettings(console=False, channels=(ChannelSettings("webhook", "hook", f"{http.url}/h"),)),
    )
    service = Service(parts, clock)
    try:
        data = ["--data-dir", str(tmp_path / "var")]
        assert cli(["absence", "add", home, "--reason", "in hospital", "--for", "2d", *data]) == 0
        clock.advance(60)
        silent = Alert(EpisodeKey(home, "no_usage", clock.now() - 50_000), AlertState.OPENED, clock.now(),
                       {"confirmed_silence_s": 50_000.0, "threshold_s": 43_200.0}, Severity.CRITICAL,
                       ("electricity", "water"))
        assert service.dispatcher.handle([silent]) == []
        assert service.sweep() == []
        capsys.readouterr()
        assert cli(["orders", "held", *data]) == 0
        assert "absence: absence #1 (in hospital)" in capsys.readouterr().out

        time.sleep(0.01)
        assert cli(["absence", "end", "1", *data]) == 0
        clock.advance_to(time.time() + 1)
        (order,) = service.sweep()  # the review in the sweep hands the silence over
        assert order.household_id == home
        assert http.counts("/h") == {f"lifesign-order-{order.order_id}-level-0-hook": 1}
        (_, _, body) = http.accepted[0]
        assert body["household_id"] == home and body["recipient"]["id"] == order.assignee
    finally:
        service.stop()
        http.stop()
