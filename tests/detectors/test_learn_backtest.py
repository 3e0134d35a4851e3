"""`lifesign learn` and `lifesign backtest` on a small simulated dataset."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from detect_quality import build, default_thresholds, readings

from app.cli import main as cli
from detectors.learn import LearnSettings, OutcomeRecord, learn
from detectors.thresholds import Thresholds
from dispatch.orderstores import SqliteWorkOrderStore
from lifesign.alerts import EpisodeKey
from lifesign.workorders import OrderStatus, Outcome
from simulators.dataset import write_dataset

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("learn")
    cohorts = build(40, 8, 10, seed=2, incidents_per_1000=100)
    write_dataset(cohorts.train, folder / "train", formats=("parquet",))
    write_dataset(cohorts.run, folder / "run", formats=("csv",))
    return folder / "train", folder / "run"


def test_learned_overrides_fit_each_homes_history_and_never_raise_the_base_load() -> None:
    cohorts = build(40, 8, 10, seed=2, incidents_per_1000=100)
    defaults = default_thresholds()
    suggestions = learn(cohorts.cohort.registry, readings(cohorts.train), defaults)
    assert len(suggestions) == 40
    for s in suggestions:
        assert s.reason and "\n" not in s.reason
        assert s.layer.no_usage_hours is not None and LearnSettings().hours <= s.layer.no_usage_hours <= 12.0
        night = [w for w in s.layer.windows or () if w.weight <= 0.25]
        assert night, f"{s.household_id}: no quiet hours learned"
        # 03:00 local is inside a quiet window for everyone in this cohort (all sleep by then)
        assert any((w.start_min <= 180 < w.end_min) or (w.start_min > w.end_min and (180 >= w.start_min or 180 < w.end_min))
                   for w in night), s


def test_false_alarms_on_record_widen_a_homes_margin_and_away_is_named() -> None:
    cohorts = build(40, 8, 10, seed=2, incidents_per_1000=100)
    defaults, history = default_thresholds(), readings(cohorts.train)
    settings = LearnSettings(hours=1.0, archetypes=0)  # low base: each home's own history decides
    plain = {s.household_id: s for s in learn(cohorts.cohort.registry, history, defaults, settings)}
    home = "H00003" if "H00003" in plain else sorted(plain)[3]
    records = {home: OutcomeRecord(false_alarms=4, away=1)}
    told = {s.household_id: s for s in learn(cohorts.cohort.registry, history, defaults, settings, records)}
    assert told[home].layer.no_usage_hours > plain[home].layer.no_usage_hours
    assert "4 false alarm(s) on record: margin x" in told[home].reason and "found away 1 time(s)" in told[home].reason
    others = sorted(set(plain) - {home})
    assert [told[h].layer for h in others] == [plain[h].layer for h in others]


def test_learn_writes_a_reviewable_file_and_changes_nothing_else(datasets: tuple[Path, Path], tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    train, _ = datasets
    thresholds = tmp_path / "thresholds.yaml"
    shutil.copy(ROOT / "app" / "defaults" / "thresholds.yaml", thresholds)
    before = thresholds.read_bytes()
    out = tmp_path / "learned.yaml"
    assert cli(["learn", "--dataset", str(train), "--thresholds", str(thresholds), "-o", str(out)]) == 0
    assert "40 households learned" in capsys.readouterr().out
    assert thresholds.read_bytes() == before
    lines = [line for line in out.read_text().splitlines() if line.startswith("  H")]
    assert len(lines) == 40 and all("  # " in line for line in lines)
    thresholds.write_text(before.decode() + "include: [learned.yaml]\n")
    included = Thresholds.load(thresholds)
    assert len(included.households) == 40
    # `lifesign config check` takes the learned file as written, and still refuses a bad edit of it
    capsys.readouterr()
    assert cli(["config", "check", str(out)]) == 0
    assert "ok (included households, 40 overrides)" in capsys.readouterr().out
    out.write_text(out.read_text().replace("hours: ", "hours: -", 1))
    assert cli(["config", "check", str(out)]) != 0


def test_learn_reads_outcomes_from_an_order_store(datasets: tuple[Path, Path], tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    train, _ = datasets
    orders = SqliteWorkOrderStore(tmp_path / "orders.sqlite")
    home = str(pd.read_csv(train / "households.csv")["household_id"].iloc[0])
    recent = float(pd.read_parquet(train / "readings.parquet", columns=["ts"])["ts"].max())
    # two outcomes within the history, and a false alarm from years before it (not counted)
    for at, outcome in ((recent, Outcome.FALSE_ALARM), (recent + 10, Outcome.AWAY), (1e9, Outcome.FALSE_ALARM)):
        order, _ = orders.open_order(EpisodeKey(home, "no_usage", at - 50_000), "gw-1", "red", at, {})
        orders.transition(order.order_id, OrderStatus.ACKNOWLEDGED, at + 1, "gw-1")
        orders.transition(order.order_id, OrderStatus.RESOLVED, at + 2, "gw-1", "", outcome)
    orders.close()
    out = tmp_path / "learned.yaml"
    assert cli(["learn", "--dataset", str(train), "--thresholds", str(ROOT / "configs/thresholds.yaml"),
                "-o", str(out), "--orders", str(tmp_path / "orders.sqlite")]) == 0
    assert "outcomes on record: 1 false alarms, 1 found away, in 1 households" in capsys.readouterr().out
    (line,) = [line for line in out.read_text().splitlines() if line.startswith(f"  {home}:")]
    assert "1 false alarm(s) on record" in line and "found away 1 time(s)" in line


def test_backtest_reports_recall_false_alarms_and_plots_a_household(datasets: tuple[Path, Path], tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    _, run = datasets
    truth = pd.read_csv(run / "ground_truth.csv", keep_default_na=False)
    victim = str(truth[truth["kind"] == "incapacitated"]["household_id"].iloc[0])
    png, alerts = tmp_path / "plot.png", tmp_path / "alerts.csv"
    code = cli(["backtest", "--dataset", str(run), "--thresholds", str(ROOT / "app/defaults/thresholds.yaml"),
                "--plot", victim, "--plot-out", str(png), "--alerts-out", str(alerts), "--no-progress"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "household-months" in out and "welfare incidents caught" in out
    assert "recall 100%" in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    written = pd.read_csv(alerts)
    mine = written[(written["household_id"] == victim) & (written["state"] == "opened")]
    assert (mine["rule"] == "no_usage").any()
    start = float(truth[truth["household_id"] == victim]["start"].min())
    assert (mine["at"] > start).any() and np.isfinite(start)


def test_backtest_refuses_readings_of_unknown_meters(datasets: tuple[Path, Path], tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    _, run = datasets
    bad = tmp_path / "readings.csv"
    bad.write_text("meter,ts,value\nW99999,1763568000,1.0\n")
    code = cli(["backtest", "--readings", str(bad), "--households", str(run / "households.csv"),
                "--meters", str(run / "meters.csv"), "--thresholds", str(ROOT / "configs/thresholds.yaml")])
    assert code == 2
    assert "1 readings of meters not in the registry, e.g. 'W99999'" in capsys.readouterr().err
