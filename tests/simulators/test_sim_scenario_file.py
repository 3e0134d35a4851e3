"""Scenario files: strict parsing, every shipped file valid, and byte-identical datasets from the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from app.cli import main as cli
from lifesign.config import ConfigError
from simulators.incidents import KINDS
from simulators.scenario_file import ScenarioSpec

SCENARIOS = Path(__file__).resolve().parents[2] / "configs" / "scenarios"
FILES = ("households.csv", "meters.csv", "roster.yaml", "homes.csv", "readings.csv", "readings.parquet",
         "ground_truth.csv", "scenario.json")


@pytest.mark.parametrize("name", sorted(p.name for p in SCENARIOS.glob("*.yaml")))
def test_every_shipped_scenario_file_is_valid(name: str) -> None:
    spec = ScenarioSpec.load(SCENARIOS / name)
    assert spec.days > 0 and spec.cohort["households"] >= 1


def dataset(folder: Path, *extra: str) -> int:
    return cli(["simulate", "--scenario", str(SCENARIOS / "cohort-60d.yaml"), "--out", str(folder),
                "--days", "3", "--households", "90", "--format", "csv", "--format", "parquet", *extra])


def test_a_seeded_scenario_writes_the_same_dataset_byte_for_byte(tmp_path: Path) -> None:
    assert dataset(tmp_path / "a") == 0
    assert dataset(tmp_path / "b") == 0
    assert dataset(tmp_path / "c", "--seed", "61") == 0
    for name in FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert (tmp_path / "a" / "readings.csv").read_bytes() != (tmp_path / "c" / "readings.csv").read_bytes()
    # the two formats hold the same readings
    csv = pd.read_csv(tmp_path / "a" / "readings.csv")
    parquet = pq.read_table(tmp_path / "a" / "readings.parquet").to_pandas()
    assert csv["meter"].tolist() == parquet["meter"].astype(str).tolist()
    assert (csv["ts"].to_numpy() == parquet["ts"].to_numpy()).all()
    assert (csv["value"].to_numpy() == parquet["value"].to_numpy()).all()
    # ground truth: every incident kind of the file, absences, and an outage category
    truth = pd.read_csv(tmp_path / "a" / "ground_truth.csv", keep_default_na=False)
    incidents = truth[truth["category"].isin(["incident", "outage"])]
    assert set(incidents["kind"]) == set(KINDS)
    assert set(truth["category"]) == {"incident", "absence", "outage", "condition"}
    assert set(truth.loc[truth["category"] == "condition", "kind"]) == {"running_toilet"}
    assert set(truth["left_on"]) > {""}  # some stopping incidents left a load on
    summary = json.loads((tmp_path / "a" / "scenario.json").read_text())
    assert summary["households"] == 90 and summary["lifestyle"]["naps"] is True


BASE = "seed: 1\ndays: 2\n"


@pytest.mark.parametrize(("text", "message"), [
    ("seed: 1\n", "<t>:1: is missing the required key 'days'"),
    (BASE + "lifestyle: {naps: true, nap: true}\n", "<t>:3: lifestyle.nap is not a known key (did you mean 'naps'?)"),
    (BASE + "lifestyle: busy\n", "<t>:3: lifestyle must be one of plain, realistic, got 'busy'"),
    (BASE + "network: {max_skew_s: 400}\n", "<t>:3: network.max_skew_s must be <= 240, got 400"),
    (BASE + "network: {duplicate_p: 2}\n", "<t>:3: network.duplicate_p must be <= 1, got 2"),
    (BASE + "network: {offline_rounds: [5, 2]}\n", "<t>:3: network.offline_rounds must be [min, max] with min <= max, got [5, 2]"),
    (BASE + "interval_s: 420\nmeters: {cadence: {15min: 1}}\n",
     "<t>:4: meters.cadence 15min (900 s) is not a multiple of interval_s (420)"),
    (BASE + "incidents: {counts: {fallen: 1}}\n", "<t>:3: incidents.counts.fallen is not a known key"),
    (BASE + "incidents: {listed: [{kind: water_cut, start: 1732000000}]}\n",
     "<t>:3: incidents.listed[0] is missing the required key 'building' (a water_cut incident)"),
    (BASE + "start: '2024-11-20T00:00:00'\n", "<t>:3: start must carry a UTC offset (e.g. +08:00), got '2024-11-20T00:00:00'"),
    (BASE + "live: {broker: localhost}\n", "<t>:3: live.broker must be host:port, got 'localhost'"),
    (BASE + "cohort: {low_user_fraction: 1.5}\n", "<t>:3: cohort.low_user_fraction must be <= 1, got 1.5"),
    (BASE + "cohort: {appliances: fancy}\n", "<t>:3: cohort.appliances must be one of simple, realistic, got 'fancy'"),
    (BASE + "timezone: Mars/Olympus\n", "<t>:3: timezone must be an IANA time zone"),
    (BASE + "timezone: Europe/Brussels\nutc_offset_hours: 1\n",
     "<t>:3: timezone and utc_offset_hours are alternatives: give one of them"),
    (BASE + "conditions: {running_toilet_lph: [6, 0.5]}\n",
     "<t>:3: conditions.running_toilet_lph must be [min, max] with min <= max, got [6, 0.5]"),
    (BASE + "incidents: {left_on_p: 2}\n", "<t>:3: incidents.left_on_p must be <= 1, got 2"),
    (BASE + "incidents: {listed: [{kind: leak, household: H00001, start: 1732000000, left_on: light}]}\n",
     "<t>:3: incidents.listed[0].left_on needs a incapacitated or fall_tap_running incident, got leak"),
])
def test_bad_scenario_files_name_the_line_field_and_expectation(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        ScenarioSpec.parse(text, "<t>")
    assert str(caught.value).startswith(message), str(caught.value)


def test_simulate_needs_an_output_or_a_broker(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["simulate", "--scenario", str(SCENARIOS / "demo.yaml")]) == 2
    assert "needs --out DIR" in capsys.readouterr().err


def test_the_same_seed_writes_the_same_bytes_in_separate_processes(tmp_path: Path) -> None:
    # separate interpreters with different hash seeds: no set or dict order, no process
    # state may leak into the bytes
    import os
    import subprocess
    import sys

    def run(folder: Path, hash_seed: str) -> None:
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run([sys.executable, "-m", "app.cli", "simulate", "--scenario",
                               str(SCENARIOS / "cohort-60d.yaml"), "--out", str(folder), "--days", "3",
                               "--households", "90", "--start", "2026-11-20T00:00:00+08:00",
                               "--format", "csv", "--format", "parquet"],
                              check=False, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr

    run(tmp_path / "a", "1")
    run(tmp_path / "b", "4242")
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert set(FILES) <= set(names)
    assert names == sorted(p.name for p in (tmp_path / "b").iterdir())
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
