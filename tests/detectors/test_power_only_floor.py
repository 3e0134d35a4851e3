"""A home watched by its power meter alone waits ``no_usage.electricity_only.hours`` before a
welfare alarm; a home with a water or gas meter is not held back.

Each home: hourly registers (water at 1 L, electricity at 0.01 kWh), a life of whole hours
until the last sign of life, then nothing but a 30 W standby (and, where said, a 60 W lamp
left on). Expected alarm times come from the schedule and the configured hours: the first
hourly reading at or after the deadline less the 20-minute data lag confirms the silence.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from detectors.backtest import replay, windows
from detectors.detector import Detector
from detectors.learn import LearnSettings, learn
from detectors.settings import resolve_settings
from detectors.thresholds import Thresholds
from dispatch.channels.markdown import ticket_markdown
from dispatch.ticket import render_ticket
from lifesign.alerts import Alert, AlertState, EpisodeKey, Rule, Severity
from lifesign.config.errors import ConfigError
from lifesign.grid import Address, Household, Meter, Resident, Role, Tier, Utility, Worker
from lifesign.readings import ReadingBatch
from lifesign.registry import Registry
from lifesign.workorders import OrderStatus, WorkOrder

H = 3600.0
STEP = 900.0
LAG_S = 20 * 60.0
DAY0 = datetime(2026, 9, 1, tzinfo=ZoneInfo("Asia/Shanghai"))
#: the last sign of life: a 2 kW kettle in the hour ending here, on day 2
LAST_LIFE = (DAY0 + timedelta(days=2, hours=9)).timestamp()
END = LAST_LIFE + 60 * H


def silence_from(interval_s: float = H, power: bool = True) -> float:
    """Where the silence counts from: a power register reads the kettle's switch-off against
    one, two and three intervals back (a ramp), each dated at the start of the quieter
    interval, so the last sign of life is two intervals after the kettle's (as
    test_usual_silences spells out); water stops with the kettle."""
    return LAST_LIFE + (2 * interval_s if power else 0.0)


def thresholds(household: str = "") -> Thresholds:
    return Thresholds.parse(f"""
timezone: Asia/Shanghai
defaults:
  no_usage: {{hours: 12, max_data_lag_minutes: 20, adapt: ~, left_on: {{hours: 6, above_quiet_w: 40}},
              electricity_only: {{hours: 34}}}}
tiers:
  red: {{no_usage: {{hours: 10, electricity_only: {{hours: 24}}}}}}
{household}
""")


def registry(utilities: tuple[Utility, ...], tier: Tier = Tier.GREEN) -> Registry:
    home = Household("H1", Address("C1", "G1", "B1", "1", "101"), Resident("R", 80, "p", "e"), tier)
    return Registry.from_records([home], [Meter(f"{u.value[0].upper()}1", "H1", u, "GW1") for u in utilities])


def readings(reg: Registry, lamp_after: bool = False, interval_s: float = H) -> ReadingBatch:
    """Registers every ``interval_s``: every 3 h until ``LAST_LIFE`` a kettle hour (and a litre
    of water, a puff of gas where the home has those meters); afterwards standby, and the
    lamp if asked."""
    ts = np.arange(LAST_LIFE - 48 * H, END + 1, interval_s)
    hour_end = ts[1:]
    alive = hour_end <= LAST_LIFE
    life = alive & (np.ceil((LAST_LIFE - hour_end) / H) % 3 == 0)
    watts = 30.0 + np.where(life, 2000.0, 0.0) + np.where(~alive & lamp_after, 60.0, 0.0)
    kwh = watts / 1000.0 * interval_s / H
    per_utility = {
        Utility.ELECTRICITY: 100.0 + np.r_[0.0, np.cumsum(kwh)],
        Utility.WATER: 50.0 + np.r_[0.0, np.cumsum(np.where(life, 0.001, 0.0))],
        Utility.GAS: 20.0 + np.r_[0.0, np.cumsum(np.where(life, 0.01, 0.0))],
    }
    meters, times, values = [], [], []
    for k in range(reg.n_meters):
        meters.append(np.full(len(ts), k, dtype=np.int32))
        times.append(ts)
        values.append(per_utility[reg.meter(k).utility])
    return ReadingBatch(np.concatenate(meters), np.concatenate(times), np.concatenate(values))


def opened(reg: Registry, th: Thresholds, batch: ReadingBatch) -> list[Alert]:
    """Every no_usage alert opened from a day before the last sign of life on (the days
    before are observed first, as a running service has)."""
    detector = Detector(reg, th)
    detector.observe(batch.take(np.flatnonzero(batch.ts <= LAST_LIFE - 24 * H)))
    later = batch.take(np.flatnonzero(batch.ts > LAST_LIFE - 24 * H))
    return [a for a in replay(detector, windows(later, STEP))
            if a.rule == Rule.NO_USAGE.value and a.state is AlertState.OPENED]


def welfare(reg: Registry, th: Thresholds, batch: ReadingBatch) -> list[tuple[float, dict[str, float]]]:
    """(opened at, evidence) of every welfare alarm after the last sign of life."""
    return [(a.at, dict(a.evidence)) for a in opened(reg, th, batch) if a.severity is Severity.CRITICAL]


def expected_alarm(hours: float, interval_s: float = H, power: bool = True) -> float:
    """The sweep after the first reading that confirms ``hours`` of silence."""
    start = silence_from(interval_s, power)
    confirming = start + math.ceil((hours * H - LAG_S) / interval_s) * interval_s
    return math.ceil(confirming / STEP) * STEP


def test_a_home_with_only_a_power_meter_waits_for_its_floor() -> None:
    reg = registry((Utility.ELECTRICITY,))
    alarms = welfare(reg, thresholds(), readings(reg))
    assert [at for at, _ in alarms] == [pytest.approx(expected_alarm(34.0), abs=STEP)]
    evidence = alarms[0][1]
    assert evidence["electricity_only_s"] == 34 * H
    assert evidence["threshold_s"] == 34 * H
    assert evidence["configured_threshold_s"] == 12 * H


@pytest.mark.parametrize("utilities", [(Utility.WATER, Utility.ELECTRICITY), (Utility.GAS, Utility.ELECTRICITY),
                                       (Utility.WATER,)])
def test_a_home_with_another_meter_alarms_at_its_threshold(utilities: tuple[Utility, ...]) -> None:
    reg = registry(utilities)
    alarms = welfare(reg, thresholds(), readings(reg))
    power = Utility.ELECTRICITY in utilities
    assert [at for at, _ in alarms] == [pytest.approx(expected_alarm(12.0, power=power), abs=STEP)]
    assert "electricity_only_s" not in alarms[0][1]


def test_a_household_can_drop_the_floor_and_a_red_tier_has_its_own() -> None:
    reg = registry((Utility.ELECTRICITY,))
    off = thresholds("households:\n  H1: {no_usage: {electricity_only: ~}}")
    assert [at for at, _ in welfare(reg, off, readings(reg))] == [pytest.approx(expected_alarm(12.0), abs=STEP)]
    red = registry((Utility.ELECTRICITY,), Tier.RED)
    assert [at for at, _ in welfare(red, thresholds(), readings(red))] == [pytest.approx(expected_alarm(24.0), abs=STEP)]


def test_a_lamp_left_on_does_not_bring_a_power_only_alarm_before_the_floor() -> None:
    """15-minute registers (hourly ones never report a load left on): with a water meter the
    lamp brings the alarm to 6 h of it; alone, the power meter cannot tell the lamp of a fall
    from the lamp of a family out for the evening."""
    both = registry((Utility.WATER, Utility.ELECTRICITY))
    lamp_with_water = welfare(both, thresholds(), readings(both, lamp_after=True, interval_s=STEP))
    assert [at for at, _ in lamp_with_water] == [pytest.approx(expected_alarm(6.0, STEP), abs=STEP)]
    alone = registry((Utility.ELECTRICITY,))
    alarms = welfare(alone, thresholds(), readings(alone, lamp_after=True, interval_s=STEP))
    assert [at for at, _ in alarms] == [pytest.approx(expected_alarm(34.0, STEP), abs=STEP)]
    # the floor decided, not the lamp: the ticket's "left on" line would say otherwise
    assert "electricity_only_s" in alarms[0][1] and "left_on_s" not in alarms[0][1]
    assert "left_on_s" in lamp_with_water[0][1] and "electricity_only_s" not in lamp_with_water[0][1]


def test_the_ticket_tells_the_worker_the_alarm_waited() -> None:
    reg = registry((Utility.ELECTRICITY,))
    (at, evidence), = welfare(reg, thresholds(), readings(reg))
    order = WorkOrder(order_id=1, key=EpisodeKey("H1", "no_usage", LAST_LIFE), assignee="gw", tier="green",
                      status=OrderStatus.OPEN, opened_at=at, evidence=evidence)
    ticket = render_ticket(order, reg.household(0), language="zh-CN")
    assert "仅有电表：静默至少 34:00 才报警" in ticket.text
    payload = ticket.as_dict()
    assert payload["electricity_only_hours"] == 34.0
    worker = Worker("gw", "Zhang Wei", Role.GRID_WORKER, "+86 139 0000 0000")
    assert "**仅有电表：** 静默满 34:00 才报警" in ticket_markdown(payload, worker)
    english = render_ticket(order, reg.household(0)).as_dict()
    assert "**Power meter only:** alarms wait 34:00 of silence" in ticket_markdown(english, worker)
    # a home with a water meter: no such line
    both = registry((Utility.WATER, Utility.ELECTRICITY))
    (at, evidence), = welfare(both, thresholds(), readings(both))
    plain = render_ticket(replace(order, evidence=evidence), both.household(0), language="zh-CN")
    assert "仅有电表" not in plain.text and plain.as_dict()["electricity_only_hours"] is None


@pytest.mark.parametrize("text, key", [
    ("electricity_only: {hours: -2}", "hours"),
    ("electricity_only: 34", "electricity_only"),
    ("electricity_only: {hourz: 34}", "hourz"),
])
def test_a_bad_floor_is_refused_with_its_key(text: str, key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        Thresholds.parse(f"defaults:\n  no_usage: {{{text}}}\n", "t.yaml")


def test_learn_says_a_power_only_home_still_waits_for_its_floor() -> None:
    """A learned deadline lands under the floor, which still holds: the reviewer reads why."""
    alone, both = registry((Utility.ELECTRICITY,)), registry((Utility.WATER, Utility.ELECTRICITY))
    (floored,) = learn(alone, readings(alone), thresholds(), LearnSettings(method="rhythm", min_days=2))
    assert "power meter only: alarms still wait 34 h (no_usage.electricity_only)" in floored.reason
    (plain,) = learn(both, readings(both), thresholds(), LearnSettings(method="rhythm", min_days=2))
    assert "power meter only" not in plain.reason


def test_homes_of_one_tier_community_and_grid_get_the_floor_by_their_meters() -> None:
    """One settings row per meter kit: only the home with no meter but electricity is held."""
    kits = {"H1": (Utility.ELECTRICITY,), "H2": (Utility.WATER, Utility.ELECTRICITY),
            "H3": (Utility.GAS, Utility.ELECTRICITY), "H4": (Utility.WATER,), "H5": (Utility.ELECTRICITY,)}
    homes = [Household(h, Address("C1", "G1", "B1", "1", "101"), Resident("R", 80, "p", "e"), Tier.GREEN) for h in kits]
    meters = [Meter(f"{h}{u.value}", h, u, "GW1") for h, us in kits.items() for u in us]
    reg = Registry.from_records(homes, meters)
    table, rows = resolve_settings(reg, thresholds())
    expected = [34.0 if kit == (Utility.ELECTRICITY,) else 0.0 for kit in kits.values()]
    assert list(table.floor_s[rows] / H) == expected


@pytest.mark.parametrize("layers, tier, hours", [
    ("", Tier.RED, 24.0),                                                         # the tier's own floor
    ("communities:\n  C1: {no_usage: {electricity_only: ~}}", Tier.RED, 0.0),     # a community turns it off
    ("grids:\n  G1: {no_usage: {electricity_only: {hours: 40}}}", Tier.RED, 40.0),  # a grid sets its own
    ("grids:\n  G1: {no_usage: {electricity_only: {hours: 40}}}", Tier.YELLOW, 40.0),
])
def test_the_most_specific_layer_sets_the_floor(layers: str, tier: Tier, hours: float) -> None:
    reg = registry((Utility.ELECTRICITY,), tier)
    table, rows = resolve_settings(reg, thresholds(layers))
    assert table.floor_s[rows[0]] == hours * H


def test_a_file_that_leaves_the_floor_out_has_none() -> None:
    """An upgrade must not delay a site's alarms unasked: only a file that says so holds them."""
    reg = registry((Utility.ELECTRICITY,))
    plain = Thresholds.parse("timezone: Asia/Shanghai\ndefaults:\n  no_usage: {hours: 12, adapt: ~}\n")
    assert [at for at, _ in welfare(reg, plain, readings(reg))] == [pytest.approx(expected_alarm(12.0), abs=STEP)]


def test_a_power_only_home_gets_no_one_utility_warning_before_its_floor() -> None:
    """`utilities.electricity` is "one utility silent while the others live": a home with one
    utility has no others, and its whole-home alarm waits for the floor."""
    reg = registry((Utility.ELECTRICITY,))
    th = thresholds("""
grids:
  G1: {no_usage: {utilities: {electricity: {hours: 20}, water: {hours: 20}}}}""")
    alone = [(a.at, a.severity) for a in opened(reg, th, readings(reg))]
    assert alone == [(pytest.approx(expected_alarm(34.0), abs=STEP), Severity.CRITICAL)]
    # beside a water meter that keeps running, the silent power meter is still warned about
    both = registry((Utility.WATER, Utility.ELECTRICITY))
    live_water = readings(both)
    water = both.meter_index["W1"]
    tail = live_water.ts > LAST_LIFE
    values = live_water.value.copy()
    values[(live_water.meter == water) & tail] += np.arange(int(((live_water.meter == water) & tail).sum())) * 0.001
    warned = opened(both, th, ReadingBatch(live_water.meter, live_water.ts, values))
    assert [a.severity for a in warned] == [Severity.WARNING] and warned[0].utilities == ("electricity",)
