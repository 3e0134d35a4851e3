"""What an operator meets on day one, tried as a new user would: the broker down at
start, log levels, the version, a ledger piped into `head`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from brokers import free_port, run_mosquitto
from probes import eventually
from test_service_mode import RunningService, write_site

from app.cli import main as cli

LIFESIGN = str(Path(sys.executable).with_name("lifesign"))


def test_run_waits_for_a_broker_that_is_down_naming_it_and_starts_when_it_comes_up(tmp_path: Path) -> None:
    port = free_port()  # nothing listens here yet
    running = RunningService(write_site(tmp_path, port))
    try:
        eventually(lambda: "not reachable" in running.output, "the retry message")
        assert running.proc.poll() is None, running.output  # still waiting, not exited 1
        assert f"broker 127.0.0.1:{port} not reachable (connection refused" in running.output
        assert "Errno 111" not in running.output
        with run_mosquitto(port, tmp_path / "broker"):
            eventually(lambda: "lifesign running" in running.output, "the service once the broker is up",
                       timeout=60)
            assert running.stop() == 0, running.output
    finally:
        if running.proc.poll() is None:
            running.proc.kill()
            running.proc.wait()


def test_version_and_log_level_options(capsys) -> None:
    out = subprocess.run([LIFESIGN, "--version"], capture_output=True, text=True, check=True).stdout
    assert out.startswith("lifesign ")
    bad = subprocess.run([LIFESIGN, "--log-level", "chatty", "status", "--data-dir", "x"], check=False, capture_output=True,
                         text=True)
    assert bad.returncode == 2 and "--log-level" in bad.stderr


def test_apscheduler_job_lines_are_off_unless_debugging(tmp_path: Path) -> None:
    import logging

    cli(["--log-level", "info", "orders", "list", "--data-dir", str(tmp_path)])
    assert logging.getLogger("apscheduler").getEffectiveLevel() == logging.WARNING
    cli(["--log-level", "debug", "orders", "list", "--data-dir", str(tmp_path)])
    assert logging.getLogger("apscheduler").level == logging.NOTSET  # the root's DEBUG applies
    logging.getLogger("apscheduler").setLevel(logging.NOTSET)


def test_ledger_export_into_head_exits_quietly(tmp_path: Path) -> None:
    from app.service import open_orders_store
    from lifesign.alerts import EpisodeKey

    store = open_orders_store(tmp_path)
    try:
        for i in range(3000):  # more than a pipe buffer holds
            store.open_order(EpisodeKey(f"H{i:05d}", "no_usage", 1000.0 + i), "gw-001", "red", 2000.0 + i, {})
    finally:
        store.close()
    pipeline = subprocess.run(f"'{LIFESIGN}' ledger export --csv - --data-dir '{tmp_path}' | head -3",
                              check=False, shell=True, capture_output=True, text=True)
    assert pipeline.stdout.count("\n") == 3
    assert pipeline.stderr == "", pipeline.stderr


def test_orders_show_gives_the_acknowledgement_deadline_not_the_threshold_crossing(
        tmp_path: Path, capsys) -> None:
    from app.commands.common import when
    from app.service import open_orders_store
    from lifesign.alerts import EpisodeKey

    store = open_orders_store(tmp_path)
    try:
        store.open_order(EpisodeKey("H00001", "no_usage", 1_000_000.0), "gw-001", "red", 1_036_000.0,
                         {"deadline": 1_036_000.0, "threshold_s": 36_000.0})
    finally:
        store.close()
    assert cli(["orders", "show", "1", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    # red: 15 minutes from opening (the shipped dispatch.ack_deadline_minutes)
    assert (f"acknowledge by: {when(1_036_000.0 + 15 * 60)} (15 min for tier red; escalates to the next level "
            "then)") in out
    assert f"threshold crossed: {when(1_036_000.0)}" in out
    assert "  deadline:" not in out
