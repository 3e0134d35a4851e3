"""The desk's words in Chinese (the default: community staff read Chinese) and English.

``?lang=en`` or the toggle on every page switches; the choice is kept in a cookie.
"""

from __future__ import annotations

from collections.abc import Callable

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"

_WORDS: dict[str, tuple[str, str]] = {
    # the worker's page
    "order": ("工单", "Work order"),
    "address": ("地址", "Address"),
    "building": ("楼栋", "Building"),
    "unit": ("单元", "Unit"),
    "room": ("房号", "Room"),
    "resident": ("居民", "Resident"),
    "age": ("岁", "years"),
    "tier": ("风险等级", "Risk tier"),
    "tier.red": ("红色", "red"),
    "tier.yellow": ("黄色", "yellow"),
    "tier.green": ("绿色", "green"),
    "phone": ("电话", "Phone"),
    "call": ("拨打", "Call"),
    "emergency_contact": ("紧急联系人", "Emergency contact"),
    "last_activity": ("最近用量", "Last activity"),
    "water": ("水", "Water"),
    "electricity": ("电", "Electricity"),
    "gas": ("燃气", "Gas"),
    "no_data": ("无数据", "no data"),
    "silence": ("静默时长", "Silence"),
    "threshold": ("阈值", "threshold"),
    "hours": ("小时", "h"),
    "so_far": ("至今", "so far"),
    "left_on": ("电器未关：比静息用电高 {w} 瓦，已连续开着 {h} 小时，期间家中无其他动静",
                "Left on: a load {w} W above the home's quiet level for {h} h, nothing else moved"),
    "power_only": ("仅有电表：静默满 {h} 小时才报警，老人可能已这么久无人照应，请立即处置",
                   ("Power meter only: the alarm waited {h} h of silence; the resident may have been without help "
                   "that long, act now")),
    "chart": ("近48小时用水用电", "Water and electricity, last 48 h"),
    "chart_empty": ("近48小时无读数", "No readings in the last 48 h"),
    "suggested": ("建议处置", "What to do"),
    "accept": ("接单", "Accept"),
    "onsite": ("到场", "On site"),
    "resolve": ("结案", "Resolve"),
    "outcome": ("处置结果", "Outcome"),
    "note": ("备注", "Note"),
    "status": ("状态", "Status"),
    "assignee": ("处理人", "Holder"),
    "level": ("升级级别", "Escalation level"),
    "opened": ("派单时间", "Opened"),
    "ledger": ("台账", "Ledger"),
    "accepted_msg": ("已接单，升级已停止。", "Accepted: escalation has stopped."),
    "resolved_msg": ("已结案。", "Resolved."),
    "usage_resumed": ("用量已恢复", "Usage resumed"),
    "status.open": ("待派送", "open"),
    "status.notified": ("待接单", "waiting to be accepted"),
    "status.acknowledged": ("已接单", "accepted"),
    "status.onsite": ("已到场", "on site"),
    "status.resolved": ("已结案", "resolved"),
    "outcome.resident_fine": ("居民安好", "resident fine"),
    "outcome.assisted": ("已协助", "assisted"),
    "outcome.hospitalised": ("已送医", "hospitalised"),
    "outcome.away": ("外出不在家", "away"),
    "outcome.meter_fault": ("表计故障", "meter fault"),
    "outcome.false_alarm": ("误报", "false alarm"),
    "rule.no_usage": ("无用量", "No utility usage"),
    "rule.meter_offline": ("表计离线", "Meter offline"),
    "rule.meter_stuck": ("表计卡滞", "Meter stuck"),
    "rule.continuous_flow": ("长流水", "Water running on"),
    "rule.abnormal_high": ("用量异常偏高", "Unusually high usage"),
    "do.red": ("立即致电居民；无人接听则30分钟内上门。",
               "Call the resident now; if no answer, go to the door within 30 minutes."),
    "do.yellow": ("1小时内致电居民；无人接听则联系紧急联系人，并在2小时内上门。",
                  ("Call the resident within 1 hour; if no answer, call the emergency contact and go to "
                  "the door within 2 hours.")),
    "do.green": ("今日内致电居民；无人接听则联系紧急联系人，并在当天上门。",
                 ("Call the resident today; if no answer, call the emergency contact and visit before "
                 "the end of the day.")),
    "do.continuous_flow": ("长时间流水：立即致电居民；无人接听立即上门（可能跌倒、忘关水龙头或漏水）。",
                           ("Water has been running for hours: call the resident now; if no answer, go to "
                           "the door at once.")),
    "do.meter_offline": ("维修任务：检查表计、供电和网关连接；非上门探视。",
                         ("Maintenance job: check the meter, its power and the gateway link; not a welfare "
                         "visit.")),
    "do.meter_stuck": ("维修任务：表计读数长时间不变，请检查。", ("Maintenance job: the meter repeats itself; "
                       "check it.")),
    "do.infrastructure": ("检查该区域供水/供电及网关；如确认停水停电请登记计划停供。",
                          "Check the area's supply and gateway; record a confirmed cut as a planned outage."),
    # the operations view
    "ops": ("运营视图", "Operations"),
    "open_orders": ("在办工单", "Open orders"),
    "community": ("社区", "Community"),
    "grid": ("网格", "Grid"),
    "age_of": ("已过", "Age"),
    "board": ("三色看板", "Three-colour board"),
    "state.fine": ("正常", "fine"),
    "state.silent": ("静默", "silent"),
    "state.order": ("有工单", "order open"),
    "state.muted": ("已屏蔽", "muted"),
    "household": ("住户", "Household"),
    "households": ("住户", "Households"),
    "alerts": ("告警", "Alerts"),
    "timeline": ("用量时间线", "Usage timeline"),
    "absences": ("外出登记", "Absences"),
    "outages": ("计划停供", "Planned outages"),
    "add": ("添加", "Add"),
    "end": ("结束", "End"),
    "end_now": ("立即结束", "End now"),
    "reason": ("原因", "Reason"),
    "from": ("开始", "From"),
    "until": ("结束", "Until"),
    "scope": ("范围", "Scope"),
    "area": ("区域", "Area"),
    "utilities": ("停供类型", "Utilities"),
    "by": ("登记人", "By"),
    "export_csv": ("导出台账 CSV", "Export ledger CSV"),
    "none": ("无", "none"),
    "all": ("全部", "all"),
    "filter": ("筛选", "Filter"),
    "login": ("登录", "Log in"),
    "logout": ("退出", "Log out"),
    "account": ("账号", "Account"),
    "password": ("密码", "Password"),
    "login_wrong": ("账号或密码错误", "Wrong name or password"),
    "login_locked": ("密码错误次数过多，请稍后再试", "Too many wrong passwords: wait and try again"),
    "refreshing": ("自动刷新", "refreshing"),
    "minutes": ("分钟", "min"),
    "link_refused": ("此链接无法打开工单", "This link does not open the order"),
    "switch": ("English", "中文"),
}


def words(lang: str) -> Callable[[str], str]:
    """The translator of one page: ``t("accept")``; an unknown key shows itself (and is seen)."""
    column = 0 if lang == "zh" else 1

    def t(key: str) -> str:
        pair = _WORDS.get(key)
        return key if pair is None else pair[column]

    return t


def pick_lang(query: str | None, cookie: str | None) -> str:
    """
    >>> pick_lang("en", "zh"), pick_lang(None, "en"), pick_lang("fr", None)
    ('en', 'en', 'zh')
    """
    for choice in (query, cookie):
        if choice in LANGS:
            return str(choice)
    return DEFAULT_LANG


__all__ = ["DEFAULT_LANG", "LANGS", "pick_lang", "words"]
