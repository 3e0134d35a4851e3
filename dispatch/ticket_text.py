"""The words of a ticket in each language a site may choose (site.yaml ``language:``).

English is the reference; zh-CN is what grid workers (网格员) read on their phones and in
WeCom/DingTalk groups. Keys are the ticket's labels and phrases; rule titles and suggested
actions are looked up by rule and tier.
"""

from __future__ import annotations

LANGUAGES = ("en", "zh-CN")

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "work_order": "Work order", "address": "Address:       ", "resident": "Resident:      ",
        "age": "age", "tier": "tier", "phone": "Phone:         ", "contact": "Emergency contact:",
        "rule": "Rule:          ", "silence": "Silence:       ", "last_activity": "Last activity",
        "no_data": "no data", "opened": "Opened:        ", "assigned": "Assigned to:   ",
        "level": "escalation level", "suggested": "Suggested:     ", "episode": "Episode:       ",
        "confirmed": "h:min confirmed silence", "threshold": "threshold", "so_far": "so far",
        "not_given": "not given", "for": "For", "homes_silent": "Homes silent", "of": "of", "do": "Do",
        "order": "order",
        "left_on": "Left on:       ",
        "left_on_text": "a load {w:.0f} W above the home's quiet level for {hm}, nothing else in the home moved",
        "power_only": "Meters:        ",
        "power_only_text": "electricity only: alarms wait {hm} of silence at least; the resident may have been "
                           "without help that long",
        "water": "water", "electricity": "electricity", "gas": "gas",
    },
    "zh-CN": {
        "work_order": "工单", "address": "地址：", "resident": "居民：", "age": "年龄", "tier": "风险等级",
        "phone": "电话：", "contact": "紧急联系人：", "rule": "规则：", "silence": "静默：",
        "last_activity": "最后用量时间", "no_data": "无数据", "opened": "开单时间：", "assigned": "处理人：",
        "level": "升级层级", "suggested": "建议处置：", "episode": "事件编号：",
        "confirmed": "（时:分）已确认无用量", "threshold": "阈值", "so_far": "至今",
        "not_given": "未提供", "for": "接收人", "homes_silent": "无用量住户", "of": "/", "do": "处置",
        "order": "工单",
        "left_on": "电器未关：",
        "left_on_text": "比家中静息用电高 {w:.0f} 瓦的电器（灯、电视等）已连续开着 {hm}，期间家中无其他动静",
        "power_only": "表计：",
        "power_only_text": "仅有电表：静默至少 {hm} 才报警，老人可能已这么久无人照应",
        "water": "水", "electricity": "电", "gas": "燃气",
    },
}

RULE_TITLES_ZH = {
    "no_usage": "无水电用量", "meter_offline": "表计离线", "meter_stuck": "表计卡滞",
    "low_volume": "用水过少（固定规则）", "continuous_flow": "长时间持续用水", "abnormal_high": "用量异常偏高",
}

TIER_NAMES_ZH = {"red": "红", "yellow": "黄", "green": "绿"}

SUGGESTED_ACTION_ZH = {
    "red": "立即电话联系居民；无人接听则30分钟内上门查看。",
    "yellow": "1小时内电话联系居民；无人接听则联系紧急联系人，并在2小时内上门。",
    "green": "今天内电话联系居民；无人接听则联系紧急联系人，并在当天上门。",
}

RULE_ACTIONS_ZH = {
    "meter_offline": "维修工单：检查表计、供电及网关连接；不是上门探视（该户其他表计仍在报告居民情况）。",
    "meter_stuck": "维修工单：表计每小时重复完全相同的用量（计数器卡住或网关补数），请检查；不是上门探视。",
    "continuous_flow": "用水一直未停（阈值见证据）：立即电话联系居民；无人接听则马上上门（可能在浴室跌倒、忘关水龙头或漏水）。",
}


def labels(language: str) -> dict[str, str]:
    if language not in LABELS:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, got {language!r}")
    return LABELS[language]


__all__ = ["LABELS", "LANGUAGES", "RULE_ACTIONS_ZH", "RULE_TITLES_ZH", "SUGGESTED_ACTION_ZH", "TIER_NAMES_ZH",
           "labels"]
