"""`lifesign backtest --plot` on simulated homes with a known incident: the PNG, the home's
local time on the axis, the alert shaded from the start of its silence, the activity
threshold drawn where the detector applies it, and a day-by-hour heat map for long ranges.

Expected values come from the simulator's ground truth, the alerts the backtest writes
(``--alerts-out``) and zoneinfo, never from the plotting code. The figures are read back
from their artists (their ``gid``), captured as they are saved."""

from __future__ import annotations

import struct
import warnings
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from matplotlib import dates
from matplotlib.figure import Figure

from app.cli import main as cli
from simulators.dataset import write_dataset
from simulators.scenario_file import ScenarioSpec

BRUSSELS = "Europe/Brussels"
SHANGHAI = "Asia/Shanghai"
VICTIM = "H00002"
#: the victim's own change threshold, and the fleet's (the plot must draw the victim's)
VICTIM_MIN_CHANGE_W, FLEET_MIN_CHANGE_W = 200.0, 300.0
NO_USAGE_HOURS = 8.0

# ten days over the end of daylight saving (26 October), hourly meters
SHORT = f"""
seed: 3
start: "2025-10-20T00:00:00+02:00"
days: 10
timezone: {BRUSSELS}
cohort: {{households: 3}}
meters: {{cadence: {{60min: 1.0}}}}
incidents:
  listed:
    - {{kind: incapacitated, household: {VICTIM}, start: "2025-10-27T10:20:00+01:00"}}
"""
# sixty local days from a local midnight
LONG = f"""
seed: 5
start: "2025-02-10T00:00:00+08:00"
days: 60
timezone: {SHANGHAI}
cohort: {{households: 2}}
lifestyle: realistic
meters: {{cadence: {{60min: 1.0}}}}
incidents:
  listed:
    - {{kind: incapacitated, household: {VICTIM}, start: "2025-03-31T10:20:00+08:00"}}
"""


def thresholds(folder: Path, zone: str) -> Path:
    path = folder / "thresholds.yaml"
    path.write_text(f"timezone: {zone}\nactivity: {{electricity: {{min_change_w: {FLEET_MIN_CHANGE_W:g}}}}}\n"
                    f"defaults: {{no_usage: {{hours: {NO_USAGE_HOURS:g}}}}}\n"
                    f"households:\n  {VICTIM}: {{activity: {{electricity: {{min_change_w: {VICTIM_MIN_CHANGE_W:g}}}}}}}\n")
    return path


def simulated(folder: Path, scenario: str, zone: str) -> Path:
    """The scenario's dataset in folder/data, and the thresholds beside it."""
    write_dataset(ScenarioSpec.parse(scenario, "plots.yaml").build(), folder / "data", formats=("parquet",))
    thresholds(folder, zone)
    return folder


@pytest.fixture(scope="module")
def short_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return simulated(tmp_path_factory.mktemp("short"), SHORT, BRUSSELS)


@pytest.fixture(scope="module")
def long_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return simulated(tmp_path_factory.mktemp("long"), LONG, SHANGHAI)


@pytest.fixture
def saved_figures(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Figure]]:
    """Every figure saved while the test runs (still whole after pyplot closes it)."""
    saved: list[Figure] = []
    original = Figure.savefig

    def keep(self: Figure, *args: object, **kwargs: object) -> None:
        saved.append(self)
        original(self, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", keep)
    yield saved


def backtest(folder: Path, out: Path, *more: str) -> pd.DataFrame:
    """Run the real command; the alerts it wrote."""
    alerts = out.with_suffix(".csv")
    code = cli([*more, "backtest", "--dataset", str(folder / "data"), "--thresholds", str(folder / "thresholds.yaml"),
                "--plot", VICTIM, "--plot-out", str(out), "--alerts-out", str(alerts), "--no-progress",
                "--step-minutes", "60"])
    assert code == 0
    return pd.read_csv(alerts)


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR"
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def incident_start(folder: Path) -> float:
    truth = pd.read_csv(folder / "data" / "ground_truth.csv", keep_default_na=False)
    (start,) = truth[(truth["household_id"] == VICTIM) & (truth["kind"] == "incapacitated")]["start"]
    return float(start)


def the_alert(alerts: pd.DataFrame, truth_start: float) -> pd.Series:
    """The victim's no_usage alert about the incident: the first opened after it. The ground truth
    bounds its silence's start: the resident's last use within two hourly readings before the
    incident, or an appliance the incident cut short, whose falling mean shows until the
    reading after."""
    mine = alerts[(alerts["household_id"] == VICTIM) & (alerts["rule"] == "no_usage") & (alerts["state"] == "opened")]
    alert = mine[mine["at"] > truth_start].iloc[0]
    assert truth_start - 2 * 3600 <= alert["episode_start"] <= truth_start + 3600
    assert alert["at"] >= alert["episode_start"] + NO_USAGE_HOURS * 3600
    return alert


def local(ts: float, zone: str) -> datetime:
    return datetime.fromtimestamp(ts, ZoneInfo(zone))


def by_gid(figure: Figure, gid: str) -> list[object]:
    return [a for ax in figure.axes for a in ax.get_children() if a.get_gid() == gid]


def test_a_short_range_is_a_timeline_in_local_time_shaded_from_the_silence_start(
        short_dataset: Path, tmp_path: Path, saved_figures: list[Figure]) -> None:
    png = tmp_path / "victim.png"
    alerts = backtest(short_dataset, png)
    (figure,) = saved_figures
    # one 300 px panel per meter (water, electricity), 1600 px wide
    assert png_size(png) == (1600, 600)

    truth = incident_start(short_dataset)
    alert = the_alert(alerts, truth)

    silence_start = local(float(alert["episode_start"]), BRUSSELS)
    spans = by_gid(figure, "silence:no_usage")
    covering = [s for s in spans if dates.num2date(s.get_x()) <= local(truth, BRUSSELS)
                < dates.num2date(s.get_x() + s.get_width())]
    assert len(covering) == 2  # the same span on both meters' panels
    for span in covering:
        assert dates.num2date(span.get_x(), tz=ZoneInfo(BRUSSELS)) == silence_start
        # shaded from the silence's start, so well before the moment the alert was raised
        assert dates.num2date(span.get_x() + span.get_width()) > local(float(alert["at"]), BRUSSELS)
    raised = [float(line.get_xdata()[0]) for line in by_gid(figure, "alert-raised")]
    assert any(x == pytest.approx(dates.date2num(local(float(alert["at"]), BRUSSELS)), abs=1e-9) for x in raised)

    # the day ticks are the home's midnights, on both sides of the change from CEST to CET
    axis = figure.axes[-1].xaxis
    ticks = [dates.num2date(x, tz=ZoneInfo(BRUSSELS)) for x in axis.get_majorticklocs()]
    assert len(ticks) >= 9 and all((t.hour, t.minute) == (0, 0) for t in ticks)
    assert {t.utcoffset() for t in ticks} == {timedelta(hours=2), timedelta(hours=1)}
    assert BRUSSELS in axis.get_label().get_text()


def test_the_threshold_drawn_is_the_one_the_detector_applies_to_that_home(
        short_dataset: Path, tmp_path: Path, saved_figures: list[Figure]) -> None:
    backtest(short_dataset, tmp_path / "victim.png")
    (figure,) = saved_figures
    lines = {ax.get_title(loc="left").split()[1][0]: ax for ax in figure.axes if ax.get_title(loc="left")}
    readings = pd.read_parquet(short_dataset / "data" / "readings.parquet")
    interval_s = float(np.median(np.diff(np.sort(readings[readings["meter"] == "E00002"]["ts"].to_numpy()))))
    assert interval_s == 3600.0  # hourly meters, as the scenario says
    # the victim's 200 W at 15-minute readings, scaled to hourly means by the site's share (its
    # hourly_change_w, 75 W unless set, over its min_change_w, the fleet's 300 W: cycles average
    # out), never under 1.5 register steps (0.01 kWh) of power
    expected_w = max(VICTIM_MIN_CHANGE_W * 75.0 / FLEET_MIN_CHANGE_W, 1.5 * 0.01 * 3.6e6 / interval_s)
    assert expected_w == 50.0
    (electric,) = [a for a in lines["E"].get_lines() if a.get_gid() == "activity-threshold"]
    assert list(electric.get_ydata()) == pytest.approx([expected_w, expected_w])
    (water,) = [a for a in lines["W"].get_lines() if a.get_gid() == "activity-threshold"]
    assert list(water.get_ydata()) == pytest.approx([1.0, 1.0])  # one litre: the water register's step
    assert "50 W" in electric.get_label()


def test_chinese_labels_render_in_a_cjk_font(short_dataset: Path, tmp_path: Path,
                                             saved_figures: list[Figure]) -> None:
    from matplotlib import font_manager

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        backtest(short_dataset, tmp_path / "zh.png", "--lang", "zh-CN")
    assert not [w for w in caught if "missing from font" in str(w.message)]
    (figure,) = saved_figures
    label = figure.axes[-1].xaxis.get_label()
    assert label.get_text() == f"当地时间（{BRUSSELS}）"
    assert "CJK" in font_manager.findfont(label.get_fontproperties())


def test_a_long_range_is_a_day_by_hour_heat_map_with_the_silence_outlined(
        long_dataset: Path, tmp_path: Path, saved_figures: list[Figure]) -> None:
    png = tmp_path / "year.png"
    alerts = backtest(long_dataset, png)
    (figure,) = saved_figures
    (heat,) = by_gid(figure, "activity-heatmap")
    grid = np.ma.filled(heat.get_array(), np.nan)
    # rows: the local days the readings' intervals end in; columns: the hours of the local day
    readings = pd.read_parquet(long_dataset / "data" / "readings.parquet")
    later = readings[readings.groupby("meter")["ts"].transform("min") < readings["ts"]]
    days = {local(float(t) - 1.0, SHANGHAI).date() for t in later["ts"]}
    assert grid.shape == (len(days), 24) == (60, 24)
    assert png_size(png) == (1600, 300 + 10 * 60)

    truth = incident_start(long_dataset)
    alert = the_alert(alerts, truth)
    first_day = min(days)
    start = local(float(alert["episode_start"]), SHANGHAI)
    row = (start.date() - first_day).days
    hour = start.hour + start.minute / 60 + start.second / 3600
    outlines = [(r.get_y(), r.get_x()) for r in by_gid(figure, "silence:no_usage")]
    assert (row, pytest.approx(hour)) in outlines
    # from the next local day on, the resident does nothing (ground truth): no activity in any hour
    stopped = (local(truth, SHANGHAI).date() - first_day).days + 1
    assert np.nansum(grid[stopped:]) == 0 and np.nansum(grid[:stopped]) > 0


def test_an_unknown_household_is_refused_before_the_replay(short_dataset: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    code = cli(["--lang", "zh-CN", "backtest", "--dataset", str(short_dataset / "data"), "--thresholds",
                str(short_dataset / "thresholds.yaml"), "--plot", "H09999", "--plot-out", str(tmp_path / "x.png"),
                "--no-progress"])
    out = capsys.readouterr()
    assert code == 2 and out.err == "错误：登记表中没有住户 'H09999'\n"
    assert out.out == "" and not (tmp_path / "x.png").exists()  # refused before the replay printed anything
