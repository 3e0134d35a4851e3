"""A ticket as the short Markdown a group chat shows (WeCom and DingTalk group bots).

Both render a small Markdown subset (headings, bold, quotes, line breaks). The text
ends with a reference line carrying the delivery's idempotency key, so a repeat is
recognisable in the group and by any bridge that reads the messages.
"""

from __future__ import annotations

from typing import Any

from dispatch.ticket import hours_minutes
from lifesign.grid import Worker

_WORDS = {
    "en": {"for": "For", "address": "Address", "resident": "Resident", "age": "age", "tier": "tier",
           "phone": "phone", "contact": "Emergency contact", "homes": "Homes silent", "of": "of",
           "silence": "Silence", "threshold": "threshold", "activity": "Last activity", "no_data": "no data",
           "do": "Do", "order": "order", "level": "level", "ack": "ack", "colon": ":",
           "left_on": "Left on", "left_on_text": "{w} W above quiet for {hm}, nothing else moved",
           "power_only": "Power meter only", "power_only_text": "alarms wait {hm} of silence: no time to lose"},
    "zh-CN": {"for": "接收人", "address": "地址", "resident": "居民", "age": "年龄", "tier": "风险等级",
              "phone": "电话", "contact": "紧急联系人", "homes": "无用量住户", "of": "/", "silence": "静默",
              "threshold": "阈值", "activity": "最后用量时间", "no_data": "无数据", "do": "处置", "order": "工单",
              "level": "升级层级", "ack": "签收", "colon": "：",
              "left_on": "电器未关", "left_on_text": "比静息用电高 {w} 瓦，已连续开着 {hm}，期间无其他动静",
              "power_only": "仅有电表", "power_only_text": "静默满 {hm} 才报警，请尽快上门"},
}


def ticket_markdown(payload: dict[str, Any], recipient: Worker, mention: str = "") -> str:
    w = _WORDS.get(str(payload.get("language", "en")), _WORDS["en"])
    c = w["colon"]
    address = payload.get("address") or {}
    resident = payload.get("resident") or {}
    lines = [f"### {payload.get('title', 'lifesign work order')}",
             f"**{w['for']}{c}** {recipient.name} ({recipient.phone}){(' ' + mention) if mention else ''}"]
    if address.get("full"):
        lines.append(f"**{w['address']}{c}** {address['full']}")
    if resident:
        lines.append(f"**{w['resident']}{c}** {resident.get('name')}, {w['age']} {resident.get('age')}, {w['tier']} "
                     f"{payload.get('tier')}, {w['phone']} {resident.get('phone')}")
        lines.append(f"**{w['contact']}{c}** {resident.get('emergency_contact')}")
    if payload.get("kind") == "infrastructure":
        lines.append(f"**{w['homes']}{c}** {payload.get('homes_silent')} {w['of']} {payload.get('homes_total')}")
    silence, threshold = payload.get("confirmed_silence_h"), payload.get("threshold_h")
    if silence is not None:
        lines.append(f"**{w['silence']}{c}** {_hm(silence)}" + (f" ({w['threshold']} {_hm(threshold)})"
                                                                  if threshold is not None else ""))
    left_on = payload.get("left_on")
    if left_on:
        lines.append(f"**{w['left_on']}{c}** " + w["left_on_text"].format(w=left_on["above_quiet_w"], hm=_hm(left_on["hours"])))
    floor_h = payload.get("electricity_only_hours")
    if floor_h:
        lines.append(f"**{w['power_only']}{c}** " + w["power_only_text"].format(hm=_hm(floor_h)))
    activity = payload.get("last_activity") or {}
    if activity:
        shown = ", ".join(f"{u} {(v or {}).get('local', w['no_data'])}" for u, v in activity.items())
        lines.append(f"**{w['activity']} ({payload.get('utc_offset', '')}){c}** {shown}")
    lines.append(f"**{w['do']}{c}** {payload.get('suggested_action', '')}")
    if payload.get("link"):
        # the recipient's own signed page: accept (接单), on site (到场), resolve (结案)
        lines.append(f"**[打开工单 · 接单 / Open the order]({payload['link']})**")
    lines.append(f"> {w['order']} #{payload.get('order_id')} {w['level']} {payload.get('escalation_level')}")
    return "\n\n".join(lines)


def _hm(hours: float) -> str:
    return hours_minutes(float(hours) * 3600.0)


def fit_utf8(text: str, limit: int, tail: str) -> str:
    """``text`` + ``tail`` in at most ``limit`` UTF-8 bytes, cutting ``text`` (never the tail,
    never inside a character).

    >>> fit_utf8("网格员" * 10, 16, "\\nref")
    '网格员…\\nref'
    >>> fit_utf8("short", 100, "|end")
    'short|end'
    """
    tail_bytes = len(tail.encode("utf-8"))
    if len((text + tail).encode("utf-8")) <= limit:
        return text + tail
    room = limit - tail_bytes - len("…".encode())
    if room < 0:
        raise ValueError(f"the tail alone ({tail_bytes} bytes) does not fit in {limit} bytes")
    cut = text.encode("utf-8")[:room].decode("utf-8", "ignore")
    return cut + "…" + tail
