from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import orjson
import pytest

from dispatch.channels.markdown import ticket_markdown
from dispatch.ticket import SUGGESTED_ACTION, render_ticket
from lifesign.alerts import EpisodeKey
from lifesign.grid import Role, Tier, Worker
from lifesign.registry import Registry
from lifesign.workorders import OrderStatus, WorkOrder

T0 = 1_763_700_000.0  # 2025-11-21 04:40 UTC

# 2025-11-21 04:40:00 UTC
WATER_AT = T0 - 13 * 3600  # 2025-11-20 15:40 UTC = 23:40 UTC+8
ELEC_AT = T0 - 12.5 * 3600  # 2025-11-21 00:10 UTC+8


def _order(household_id: str = "H0001", tier: str = "red", **evidence: float) -> WorkOrder:
    return WorkOrder(
        order_id=7,
        key=EpisodeKey(household_id, "no_usage", ELEC_AT),
        assignee="gw-zhang",
        tier=tier,
        status=OrderStatus.OPEN,
        opened_at=T0,
        evidence=dict(evidence),
    )


def test_ticket_has_address_resident_rule_activity_silence_and_action(registry: Registry) -> None:
    order = _order(
        last_usage_water=WATER_AT,
        last_usage_electricity=ELEC_AT,
        confirmed_silence_s=12.5 * 3600,
        threshold_s=12 * 3600,
    )
    ticket = render_ticket(order, registry.household_by_id("H0001"))
    assert ticket.title == "[RED] No utility usage: Wang Fang (82), bldg B001 unit 2 room 301"
    text = ticket.text
    for expected in [
        "Work order #7",
        "C1 / G01 / bldg B001 / unit 2 / room 301",
        "Wang Fang, age 82, tier red",
        "+86 139 H0001",
        "Wang Fang Jr. +86 137 0000 0001",
        "no_usage",
        "12:30 h:min confirmed silence (threshold 12:00)",
        "Emergency contact: Wang Fang Jr.",
        "Last activity (UTC+8):",
        "water:        2025-11-20 23:40",
        "electricity:  2025-11-21 00:10",
        "gas:          no data",
        "Opened:         2025-11-21 12:40 (UTC+8)",
        "Call the resident now; if no answer, go to the door within 30 minutes.",
    ]:
        assert expected in text, expected
    assert len(text.splitlines()) > 10


def test_ticket_dict_is_json_and_carries_the_structured_fields(registry: Registry) -> None:
    order = _order(
        last_usage_water=WATER_AT, confirmed_silence_s=12.5 * 3600, threshold_s=12 * 3600
    )
    doc = orjson.loads(
        orjson.dumps(render_ticket(order, registry.household_by_id("H0001")).as_dict())
    )
    assert doc["order_id"] == 7
    assert doc["episode"] == f"H0001/no_usage/{int(ELEC_AT)}"
    assert doc["tier"] == "red"
    assert doc["assignee"] == "gw-zhang"
    assert doc["address"]["full"] == "C1 / G01 / bldg B001 / unit 2 / room 301"
    assert doc["resident"] == {
        "name": "Wang Fang",
        "age": 82,
        "tier": "red",
        "phone": "+86 139 H0001",
        "emergency_contact": "Wang Fang Jr. +86 137 0000 0001",
    }
    assert doc["last_activity"]["water"] == {"at": WATER_AT, "local": "2025-11-20 23:40"}
    assert doc["last_activity"]["electricity"] is None
    assert doc["last_activity"]["gas"] is None
    assert (doc["confirmed_silence_h"], doc["threshold_h"]) == (12.5, 12.0)
    assert doc["suggested_action"] == SUGGESTED_ACTION[Tier.RED]
    assert doc["title"].startswith("[RED]")
    assert "Wang Fang" in doc["text"]


def test_local_times_follow_the_given_zone(registry: Registry) -> None:
    order = _order(last_usage_water=WATER_AT)
    ticket = render_ticket(order, registry.household_by_id("H0001"), tz=UTC)
    assert "Last activity (UTC+0):" in ticket.text
    assert "water:        2025-11-20 15:40" in ticket.text
    assert ticket.as_dict()["opened_at_local"] == "2025-11-21 04:40"


def _expected(at: float, zone: ZoneInfo) -> tuple[str, str]:
    """The test's own reading of the zone: local wall time and its offset at that instant."""
    local = datetime.fromtimestamp(at, zone)
    offset = local.utcoffset()
    assert offset is not None
    hours = int(offset.total_seconds() // 3600)
    return local.strftime("%Y-%m-%d %H:%M"), f"UTC{hours:+d}"


@pytest.mark.parametrize("zone_name", ["Europe/Brussels", "America/New_York"])
@pytest.mark.parametrize("opened", [datetime(2025, 7, 15, 9, 30, tzinfo=UTC), datetime(2025, 1, 15, 9, 30, tzinfo=UTC)],
                         ids=["summer", "winter"])
def test_a_site_outside_utc8_renders_its_own_local_times(registry: Registry, zone_name: str, opened: datetime) -> None:
    zone = ZoneInfo(zone_name)
    opened_at = opened.timestamp()
    water_at = opened_at - 13 * 3600
    order = replace(_order(last_usage_water=water_at), opened_at=opened_at)
    ticket = render_ticket(order, registry.household_by_id("H0001"), tz=zone)
    opened_local, label = _expected(opened_at, zone)
    water_local, water_label = _expected(water_at, zone)
    assert water_label == label  # mid-season: both on the same side of a change
    assert label != "UTC+8" and opened_local != datetime.fromtimestamp(opened_at, timezone(timedelta(hours=8))).strftime("%Y-%m-%d %H:%M")
    assert f"Opened:         {opened_local} ({label})" in ticket.text
    assert f"Last activity ({label}):" in ticket.text
    assert f"water:        {water_local}" in ticket.text
    doc = ticket.as_dict()
    assert (doc["opened_at_local"], doc["utc_offset"], doc["timezone"]) == (opened_local, label, zone_name)
    assert doc["last_activity"]["water"]["local"] == water_local
    # the group-robot markdown shows the same local times
    markdown = ticket_markdown(doc, registry_worker())
    assert f"**Last activity ({label}):** water {water_local}" in markdown


def test_a_time_across_a_daylight_saving_change_carries_its_own_offset(registry: Registry) -> None:
    zone = ZoneInfo("Europe/Brussels")
    opened_at = datetime(2025, 3, 30, 9, 0, tzinfo=UTC).timestamp()  # after the spring change (UTC+2)
    water_at = opened_at - 10 * 3600  # the evening before (UTC+1)
    order = replace(_order(last_usage_water=water_at), opened_at=opened_at)
    ticket = render_ticket(order, registry.household_by_id("H0001"), tz=zone)
    water_local, water_label = _expected(water_at, zone)
    opened_local, label = _expected(opened_at, zone)
    assert (label, water_label) == ("UTC+2", "UTC+1")
    assert f"water:        {water_local} ({water_label})" in ticket.text
    assert f"Opened:         {opened_local} ({label})" in ticket.text


def registry_worker() -> Worker:
    return Worker(worker_id="gw-zhang", name="Zhang Wei", role=Role.GRID_WORKER, phone="+86 138 0000 0001")


@pytest.mark.parametrize(("household_id", "tier"), [("H0002", Tier.YELLOW), ("H0003", Tier.GREEN)])
def test_each_tier_has_its_own_suggested_action(
    registry: Registry, household_id: str, tier: Tier
) -> None:
    ticket = render_ticket(_order(household_id, tier.value), registry.household_by_id(household_id))
    assert SUGGESTED_ACTION[tier] in ticket.text
    assert ticket.title.startswith(f"[{tier.value.upper()}]")
    assert len(set(SUGGESTED_ACTION.values())) == 3


def test_missing_evidence_reads_as_not_given(registry: Registry) -> None:
    ticket = render_ticket(_order(), registry.household_by_id("H0001"))
    assert "Silence:        not given" in ticket.text
    assert ticket.as_dict()["confirmed_silence_h"] is None


def test_a_ticket_for_the_wrong_household_is_refused(registry: Registry) -> None:
    with pytest.raises(
        ValueError, match="household must be the order's household 'H0001', got 'H0002'"
    ):
        render_ticket(_order(), registry.household_by_id("H0002"))


def test_silence_so_far_is_shown_beside_the_confirmed_silence(registry: Registry) -> None:
    from dispatch.ticket import render_ticket
    from lifesign.alerts import EpisodeKey
    from lifesign.workorders import OrderStatus, WorkOrder

    order = WorkOrder(3, EpisodeKey("H0001", "no_usage", 1_763_600_000.0), "gw-zhang", "red", OrderStatus.OPEN,
                      1_763_650_000.0, evidence={"confirmed_silence_s": 45_000.0, "threshold_s": 36_000.0,
                                                 "silence_so_far_s": 46_800.0})
    ticket = render_ticket(order, registry.household_by_id("H0001"))
    assert "Silence:        12:30 h:min confirmed silence (threshold 10:00), 13:00 so far" in ticket.text
    assert ticket.fields["silence_so_far_h"] == 13.0


def test_an_infrastructure_ticket_names_the_area_and_the_homes(registry: Registry) -> None:
    from dispatch.ticket import render_area_ticket
    from lifesign.alerts import EpisodeKey
    from lifesign.workorders import OrderStatus, WorkOrder

    order = WorkOrder(9, EpisodeKey("building:B001", "infrastructure:no_usage:water", 1_763_600_000.0), "gl-li",
                      "red", OrderStatus.OPEN, 1_763_650_000.0,
                      evidence={"homes_silent": 5.0, "homes_total": 8.0, "share": 0.625,
                                "first_silence": 1_763_600_000.0})
    ticket = render_area_ticket(order, "building", "B001", "C1", "G01", [])
    assert ticket.title == "[INFRASTRUCTURE] building B001: 5 of 8 homes with no water usage"
    assert "Homes silent:   5 of 8 (62%)" in ticket.text and "lifesign outage add" in ticket.text
    assert ticket.fields["address"]["building"] == "B001" and ticket.fields["kind"] == "infrastructure"


def test_a_zh_cn_site_gets_tickets_in_chinese_on_every_channel(registry: Registry) -> None:
    order = _order(last_usage_water=WATER_AT, last_usage_electricity=ELEC_AT,
                   confirmed_silence_s=12.5 * 3600, threshold_s=12 * 3600)
    household = registry.household_by_id("H0001")
    ticket = render_ticket(order, household, language="zh-CN")
    assert ticket.title.startswith("【红】无水电用量：Wang Fang（82岁），B001楼 2单元 301室")
    for expected in ["工单 #7", "紧急联系人： Wang Fang Jr.", "静默： 12:30 （时:分）已确认无用量 (阈值 12:00)",
                     "最后用量时间 (UTC+8):", "水:", "燃气:", "无数据", "建议处置： 立即电话联系居民；无人接听则30分钟内上门查看。"]:
        assert expected in ticket.text, (expected, ticket.text)
    payload = ticket.as_dict()
    assert payload["language"] == "zh-CN" and payload["rule"] == "no_usage"  # field names stay English
    markdown = ticket_markdown(payload, Worker("gw-zhang", "张伟", Role.GRID_WORKER, "+86 138"))
    assert "**紧急联系人：** Wang Fang Jr." in markdown
    assert "**静默：** 12:30 (阈值 12:00)" in markdown
    # English stays the default, word for word
    assert "Emergency contact: Wang Fang Jr." in render_ticket(order, household).text


def test_the_site_chooses_the_language_and_refuses_an_unknown_one(tmp_path) -> None:
    from app.site import SiteConfig
    from lifesign.config.errors import ConfigError

    base = "registry: {households: h.csv, meters: m.csv}\nroster: r.yaml\nthresholds: t.yaml\ndata_dir: var\n"
    assert SiteConfig.parse(base, tmp_path).language == "en"
    assert SiteConfig.parse(base + "language: zh-CN\n", tmp_path).language == "zh-CN"
    with pytest.raises(ConfigError) as err:
        SiteConfig.parse(base + "language: fr\n", tmp_path, "site.yaml")
    assert str(err.value) == "site.yaml:5: language must be one of en, zh-CN, got 'fr'"


def test_a_lamp_left_on_says_why_the_order_came_before_the_threshold(registry: Registry) -> None:
    order = _order(last_usage_electricity=ELEC_AT, confirmed_silence_s=6.25 * 3600, threshold_s=12 * 3600,
                   left_on_s=6.5 * 3600, power_w=100.0, quiet_w=16.0, left_on_threshold_s=6 * 3600)
    household = registry.household_by_id("H0001")
    english = render_ticket(order, household)
    assert "6:15 h:min confirmed silence (threshold 12:00)" in english.text
    assert "Left on:        a load 84 W above the home's quiet level for 6:30, nothing else in the home moved" in english.text
    chinese = render_ticket(order, household, language="zh-CN")
    assert "电器未关： 比家中静息用电高 84 瓦的电器（灯、电视等）已连续开着 6:30，期间家中无其他动静" in chinese.text
    payload = english.as_dict()
    assert payload["left_on"] == {"hours": 6.5, "above_quiet_w": 84}
    worker = Worker("gw-zhang", "Zhang Wei", Role.GRID_WORKER, "+86 139 0000 0000")
    assert "**Left on:** 84 W above quiet for 6:30, nothing else moved" in ticket_markdown(payload, worker)
    # an ordinary order has no such line
    plain = render_ticket(_order(confirmed_silence_s=12.5 * 3600, threshold_s=12 * 3600), household)
    assert "Left on" not in plain.text and plain.as_dict()["left_on"] is None
