"""Thresholds edited under a running `lifesign run` (real process, real mosquitto):
the next sweep uses them; an invalid file is refused, logged, and the old ones kept;
an included (learned) file is watched too."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from probes import eventually
from test_service_mode import RunningService, orders_listed, publish_silence, write_site


@pytest.mark.mosquitto
def test_an_edited_override_applies_at_the_next_sweep_and_a_broken_file_keeps_the_old_one(
        tmp_path: Path, mosquitto_port: int, capsys: pytest.CaptureFixture[str]) -> None:
    service = RunningService(write_site(tmp_path, mosquitto_port))
    try:
        eventually(lambda: "lifesign running" in service.output or service.proc.poll() is not None,
                   "the service to start", timeout=60)
        assert service.proc.poll() is None, service.output
        thresholds = tmp_path / "thresholds.yaml"
        good = thresholds.read_text()
        # H00004 (green, 16 h) silent for 5 h: nothing under the shipped thresholds. Five hours
        # count at least 2.5 under the half-weight night window below, whatever the hour the
        # test runs at (three hours near midnight counted only 1.7: the test failed at night).
        publish_silence(mosquitto_port, 4, 5, end=time.time())
        # A broken edit that would also lower H00004 to 2 h: refused, so still no order.
        thresholds.write_text(good + "  H00004: {no_usage: {hours: 2, windows: [{from: '22:00', to: '25:00', weight: 0.5}]}}\n")
        eventually(lambda: "thresholds not reloaded" in service.output, "the broken edit refused")
        settle = time.monotonic() + 1.0  # several sweeps (0.2 s apart) under the old thresholds
        while time.monotonic() < settle:
            assert orders_listed(tmp_path, capsys) == []
            time.sleep(0.1)
        # The same override, valid: the next sweeps open H00004's order.
        thresholds.write_text(good + "  H00004: {no_usage: {hours: 2, windows: [{from: '22:00', to: '06:00', weight: 0.5}]}}\n")
        eventually(lambda: orders_listed(tmp_path, capsys) == ["H00004"], "an order for H00004 after the edit")
        # A reviewed `lifesign learn` file, included: editing only that file applies too.
        learned = tmp_path / "learned.yaml"
        learned.write_text("households:\n  H00005: {no_usage: {hours: 16}}\n")
        thresholds.write_text(thresholds.read_text() + "include: [learned.yaml]\n")
        eventually(lambda: service.output.count("thresholds reloaded from") == 2, "the include picked up")
        publish_silence(mosquitto_port, 5, 3, end=time.time())
        learned.write_text("households:\n  H00005: {no_usage: {hours: 2}}  # learned: short silences\n")
        eventually(lambda: orders_listed(tmp_path, capsys) == ["H00004", "H00005"], "an order for H00005")
    finally:
        code = service.stop() if service.proc.poll() is None else service.proc.returncode
    out = service.output
    assert code == 0, out
    assert "households.H00004.no_usage.windows[0].to must be a local time from 00:00 to 24:00, got '25:00'" in out
    assert "thresholds not reloaded, previous ones kept" in out
    assert out.count("thresholds reloaded from") == 3


@pytest.mark.mosquitto
def test_mending_a_broken_newly_included_file_is_picked_up(tmp_path: Path, mosquitto_port: int) -> None:
    # The include is only known once the file parses; while it is broken, mending the
    # included file alone must still trigger the next reload (called here by hand).
    import os

    from app.service import Service, ServiceParts
    from app.site import SiteConfig
    from lifesign.clock import ManualClock

    service = Service(ServiceParts.from_site(SiteConfig.load(write_site(tmp_path, mosquitto_port))),
                      ManualClock(time.time()))
    try:
        thresholds, learned = tmp_path / "thresholds.yaml", tmp_path / "learned.yaml"
        learned.write_text("households:\n  H00005: {no_usage: {hours: -1}}\n")
        thresholds.write_text(thresholds.read_text() + "include: [learned.yaml]\n")
        assert service.reload_thresholds() is False  # refused: hours must be > 0
        assert service.reload_thresholds() is False  # nothing changed since: not tried again
        learned.write_text("households:\n  H00005: {no_usage: {hours: 3}}\n")
        stamp = learned.stat().st_mtime_ns + 10**7
        os.utime(learned, ns=(stamp, stamp))  # a coarse file-system clock must not hide the edit
        assert service.reload_thresholds() is True
        assert service.detector.thresholds.households["H00005"].no_usage_hours == 3.0
    finally:
        service.stop()
