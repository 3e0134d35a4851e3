"""WeCom and DingTalk payloads against schemas written from their documentation."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from schemacheck import load, problems

from dispatch.channels.grouprobots import DingTalkChannel, WeComChannel, mainland_mobile
from dispatch.ticket import render_ticket
from lifesign.alerts import EpisodeKey
from lifesign.registry import Registry
from lifesign.roster import Roster
from lifesign.workorders import OrderStatus, WorkOrder

T0 = 1_763_700_000.0


def ticket(registry: Registry, household_id: str = "H0001", **evidence: float) -> dict[str, Any]:
    order = WorkOrder(7, EpisodeKey(household_id, "no_usage", T0 - 50_000), "gw-zhang", "red", OrderStatus.OPEN,
                      T0, evidence={"confirmed_silence_s": 50_000.0, "threshold_s": 43_200.0,
                                    "last_usage_water": T0 - 50_000, **evidence})
    payload = render_ticket(order, registry.household_by_id(household_id)).as_dict()
    return {**payload, "idempotency_key": "lifesign-order-7-level-0-x"}


# -- the checker itself: a checker that passes everything would make the tests below worthless


def test_the_checker_finds_each_kind_of_problem() -> None:
    wecom = load("wecom_markdown.json")
    assert problems({"msgtype": "markdown", "markdown": {"content": "hi"}}, wecom) == []
    assert problems({"msgtype": "text", "markdown": {"content": "hi"}}, wecom) == [
        "$.msgtype: must be 'markdown', got 'text'"]
    assert problems({"msgtype": "markdown"}, wecom) == ["$: is missing the required key 'markdown'"]
    assert problems({"msgtype": "markdown", "markdown": {"content": "网" * 1366}}, wecom) == [
        "$.markdown.content: must be at most 4096 UTF-8 bytes, got 4098"]
    assert problems({"msgtype": "markdown", "markdown": {"content": 5}}, wecom) == [
        "$.markdown.content: must be of type string, got int"]
    assert problems({"msgtype": "markdown", "markdown": {"content": "x", "mentioned_list": []}}, wecom) == [
        "$.markdown: has the key 'mentioned_list', which the format does not define"]
    ding = load("dingtalk_markdown.json")
    assert problems({"msgtype": "markdown", "markdown": {"title": "t", "text": "x"},
                     "at": {"atMobiles": ["+86 138"], "isAtAll": "no"}}, ding) == [
        "$.at.atMobiles[0]: must match '^[0-9]{11}$', got '+86 138'",
        "$.at.isAtAll: must be of type boolean, got str"]
    with pytest.raises(ValueError, match="not supported"):
        problems({}, {"minimum": 3})


# -- the channels' payloads


def test_wecom_payload_matches_the_documented_markdown_format(registry: Registry, roster: Roster) -> None:
    message = WeComChannel("http://127.0.0.1:9/hook").message(roster.get("gw-zhang"), ticket(registry))
    assert problems(message, load("wecom_markdown.json")) == []
    content = message["markdown"]["content"]
    assert "Wang Fang" in content and "C1 / G01 / bldg B001" in content
    assert content.endswith("ref: lifesign-order-7-level-0-x")


def test_a_huge_wecom_ticket_is_cut_to_4096_bytes_keeping_the_reference(
    registry: Registry, roster: Roster
) -> None:
    payload = ticket(registry)
    payload["suggested_action"] = "请立即上门查看。" * 600  # about 14 kB of UTF-8
    message = WeComChannel("http://127.0.0.1:9/hook").message(roster.get("gw-zhang"), payload)
    assert problems(message, load("wecom_markdown.json")) == []
    content = message["markdown"]["content"]
    assert 4000 < len(content.encode()) <= 4096
    assert content.endswith("ref: lifesign-order-7-level-0-x")


def test_dingtalk_payload_matches_the_documented_markdown_format_and_mentions_the_worker(
    registry: Registry, roster: Roster
) -> None:
    message = DingTalkChannel("http://127.0.0.1:9/robot/send?access_token=t").message(
        roster.get("gw-zhang"), ticket(registry))
    assert problems(message, load("dingtalk_markdown.json")) == []
    assert message["at"] == {"atMobiles": ["13800000001"], "isAtAll": False}
    assert "@13800000001" in message["markdown"]["text"]  # DingTalk shows the @ only if the text has it
    assert message["markdown"]["title"].startswith("[RED] No utility usage: Wang Fang")


def test_a_landline_desk_is_not_mentioned(registry: Registry, roster: Roster) -> None:
    message = DingTalkChannel("http://127.0.0.1:9/x").message(roster.get("desk-c1"), ticket(registry))
    assert problems(message, load("dingtalk_markdown.json")) == []
    assert message["at"]["atMobiles"] == [] and mainland_mobile("+86 21 0000 0000") == ""


def test_dingtalk_signature_follows_the_documented_recipe() -> None:
    import base64
    import hashlib
    import hmac
    import urllib.parse

    channel = DingTalkChannel("https://oapi.dingtalk.com/robot/send?access_token=T", secret="SECabc",
                              wall_clock_ms=lambda: 1_700_000_000_000)
    url = urllib.parse.urlparse(channel.signed_url())
    query = urllib.parse.parse_qs(url.query)
    expected = base64.b64encode(hmac.new(b"SECabc", b"1700000000000\nSECabc", hashlib.sha256).digest()).decode()
    assert query == {"access_token": ["T"], "timestamp": ["1700000000000"], "sign": [expected]}
