"""The ticket a person reads: all it takes to act on a work order, in one message."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any

from dispatch.ticket_text import (
    RULE_ACTIONS_ZH,
    RULE_TITLES_ZH,
    SUGGESTED_ACTION_ZH,
    TIER_NAMES_ZH,
    labels,
)
from lifesign.clock import DEFAULT_TZ, local_time, utc_offset_label
from lifesign.grid import Household, Tier, Utility
from lifesign.workorders import WorkOrder

SUGGESTED_ACTION: dict[Tier, str] = {
    Tier.RED: "Call the resident now; if no answer, go to the door within 30 minutes.",
    Tier.YELLOW: (
        "Call the resident within 1 hour; if no answer, call the emergency contact "
        "and go to the door within 2 hours."
    ),
    Tier.GREEN: (
        "Call the resident today; if no answer, call the emergency contact "
        "and visit before the end of the day."
    ),
}

RULE_TITLES: dict[str, str] = {
    "no_usage": "No utility usage",
    "meter_offline": "Meter offline",
    "meter_stuck": "Meter stuck",
    "low_volume": "Little water (the fixed rule)",
    "continuous_flow": "Water running on",
    "abnormal_high": "Unusually high usage",
}

#: rules whose action is not the tier's welfare visit
RULE_ACTIONS: dict[str, str] = {
    "meter_offline": (
        "Maintenance job: check the meter, its power and the gateway link; this is not a "
        "welfare visit (the home's other meters still speak for the resident)."
    ),
    "meter_stuck": (
        "Maintenance job: the meter repeats exactly the same usage hour after hour (a stuck "
        "counter or a gateway filling gaps); check it. Not a welfare visit, but its readings "
        "no longer count for or against the resident until it varies again."
    ),
    "continuous_flow": (
        "Water has been running for hours: call the resident now; if no answer, go to the "
        "door at once (a fall in the shower, a tap left on, a leak)."
    ),
}

_UTILITIES = (Utility.WATER, Utility.ELECTRICITY, Utility.GAS)


@dataclass(frozen=True)
class Ticket:
    title: str
    #: multi-line, for the console and for phone apps that only show text
    text: str
    #: the structured fields of the MQTT JSON payload
    fields: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"title": self.title, **self.fields, "text": self.text}


class _LocalTimes:
    """Local times of one ticket in the site's zone, labelled with the zone's real offset at
    the order's opening; a time at another offset (across a daylight-saving change) carries its own."""

    def __init__(self, tz: tzinfo, opened_at: float) -> None:
        self.tz = tz
        self.label = utc_offset_label(opened_at, tz)

    def __call__(self, at: float) -> str:
        own = utc_offset_label(at, self.tz)
        return local_time(at, self.tz) + ("" if own == self.label else f" ({own})")

    def labelled(self, at: float) -> str:
        return f"{local_time(at, self.tz)} ({utc_offset_label(at, self.tz)})"


def render_ticket(order: WorkOrder, household: Household, tz: tzinfo = DEFAULT_TZ,
                  link: str | None = None, language: str = "en") -> Ticket:
    """``tz``: the site's zone (site.yaml ``timezone:``); ``link``: the recipient's signed
    address of the order's page, where they accept, arrive and resolve; ``language``: site.yaml
    ``language:`` (``en`` or ``zh-CN``) for the words people read; the payload's field names stay the same."""
    w = labels(language)
    zh = language == "zh-CN"
    if household.household_id != order.household_id:
        raise ValueError(
            f"household must be the order's household {order.household_id!r}, "
            f"got {household.household_id!r}"
        )
    local = _LocalTimes(tz, order.opened_at)
    resident, address = household.resident, household.address
    tier = Tier(order.tier) if order.tier in {t.value for t in Tier} else household.tier
    evidence = order.evidence
    rule_title = (RULE_TITLES_ZH if zh else RULE_TITLES).get(order.rule, order.rule)

    last_activity: dict[str, dict[str, Any] | None] = {}
    activity_lines = []
    for utility in _UTILITIES:
        at = evidence.get(f"last_usage_{utility.value}")
        if at is None:
            last_activity[utility.value] = None
            activity_lines.append(f"  {w[utility.value] + ':':<13} {w['no_data']}")
        else:
            last_activity[utility.value] = {"at": at, "local": local(at)}
            activity_lines.append(f"  {w[utility.value] + ':':<13} {local(at)}")

    confirmed_s, threshold_s = evidence.get("confirmed_silence_s"), evidence.get("threshold_s")
    silence_h, threshold_h = _hours(confirmed_s), _hours(threshold_s)
    if confirmed_s is not None and threshold_s is not None:
        silence_text = f"{hours_minutes(confirmed_s)} {w['confirmed']} ({w['threshold']} {hours_minutes(threshold_s)})"
    elif confirmed_s is not None:
        silence_text = f"{hours_minutes(confirmed_s)} {w['confirmed']}"
    else:
        silence_text = w["not_given"]
    so_far_s = evidence.get("silence_so_far_s")
    so_far_h = _hours(so_far_s)
    if so_far_s is not None and confirmed_s is not None:
        # confirmed = what the readings prove; so far = until now (the latest readings may lag)
        silence_text += f", {w['so_far']} {hours_minutes(so_far_s)}" if zh else f", {hours_minutes(so_far_s)} so far"

    # a lamp or TV left on brought the alarm forward: say so, or "6 h of 12" reads as a mistake
    left_on_s, power_w, quiet_w = evidence.get("left_on_s"), evidence.get("power_w"), evidence.get("quiet_w")
    left_on, left_on_lines = None, []
    if left_on_s is not None and power_w is not None and quiet_w is not None:
        left_on = {"hours": round(left_on_s / 3600.0, 2), "above_quiet_w": round(power_w - quiet_w)}
        left_on_lines = [f"{w['left_on']} " + w["left_on_text"].format(w=power_w - quiet_w, hm=hours_minutes(left_on_s))]

    # a home seen by its power meter alone alarms late by design: the worker must know
    floor_s = evidence.get("electricity_only_s")
    power_only_lines = [] if floor_s is None else [f"{w['power_only']} " + w["power_only_text"].format(
        hm=hours_minutes(floor_s))]

    tier_name = TIER_NAMES_ZH[tier.value] if zh else tier.value.upper()
    title = (
        f"[{tier_name}] {rule_title}: {resident.name} ({resident.age}), "
        f"bldg {address.building} unit {address.unit} room {address.room}"
    ) if not zh else (
        f"【{tier_name}】{rule_title}：{resident.name}（{resident.age}岁），"
        f"{address.building}楼 {address.unit}单元 {address.room}室"
    )
    if zh:
        action = RULE_ACTIONS_ZH.get(order.rule, SUGGESTED_ACTION_ZH[tier.value])
    else:
        action = RULE_ACTIONS.get(order.rule, SUGGESTED_ACTION[tier])
    opened_local = local(order.opened_at)
    tier_shown = TIER_NAMES_ZH[tier.value] if zh else tier.value
    lines = [
        f"{w['work_order']} #{order.order_id}  {title}",
        f"{w['address']} {address}",
        f"{w['resident']} {resident.name}, {w['age']} {resident.age}, {w['tier']} {tier_shown}",
        f"{w['phone']} {resident.phone}",
        f"{w['contact']} {resident.emergency_contact}",
        f"{w['rule']} {order.rule} ({rule_title})",
        f"{w['silence']} {silence_text}",
        *left_on_lines,
        *power_only_lines,
        f"{w['last_activity']} ({local.label}):",
        *activity_lines,
        f"{w['opened']} {opened_local} ({local.label})",
        f"{w['assigned']} {order.assignee} ({w['level']} {order.escalation_level})",
        f"{w['suggested']} {action}",
        f"{w['episode']} {order.key.as_text()}",
        *_link_lines(link),
    ]
    fields: dict[str, Any] = {
        "order_id": order.order_id,
        "episode": order.key.as_text(),
        "household_id": order.household_id,
        "rule": order.rule,
        "tier": tier.value,
        "status": order.status.value,
        "assignee": order.assignee,
        "escalation_level": order.escalation_level,
        "opened_at": order.opened_at,
        "opened_at_local": opened_local,
        "utc_offset": local.label,
        "timezone": str(tz),
        "address": {
            "full": str(address),
            "community": address.community,
            "grid": address.grid,
            "building": address.building,
            "unit": address.unit,
            "room": address.room,
        },
        "resident": {
            "name": resident.name,
            "age": resident.age,
            "tier": household.tier.value,
            "phone": resident.phone,
            "emergency_contact": resident.emergency_contact,
        },
        "last_activity": last_activity,
        "confirmed_silence_h": None if silence_h is None else round(silence_h, 2),
        "threshold_h": None if threshold_h is None else round(threshold_h, 2),
        "silence_so_far_h": None if so_far_h is None else round(so_far_h, 2),
        "left_on": left_on,
        "electricity_only_hours": None if floor_s is None else round(floor_s / 3600.0, 2),
        "suggested_action": action,
        "link": link,
        "language": language,
    }
    return Ticket(title=title, text="\n".join(lines), fields=fields)


def _link_lines(link: str | None) -> list[str]:
    return [] if link is None else [f"Open (接单/到场/结案): {link}"]


def hours_minutes(seconds: float) -> str:
    """A duration as h:mm, how people read a silence ("12:30", not "12.5 h").

    >>> hours_minutes(12.5 * 3600), hours_minutes(59), hours_minutes(36 * 3600 + 5 * 60)
    ('12:30', '0:01', '36:05')
    """
    minutes = round(max(0.0, seconds) / 60.0)
    return f"{minutes // 60}:{minutes % 60:02d}"


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else seconds / 3600.0


def render_area_ticket(
    order: WorkOrder,
    scope: str,
    area: str,
    community: str,
    grid: str,
    homes: Sequence[Household],
    tz: tzinfo = DEFAULT_TZ,
    link: str | None = None,
) -> Ticket:
    """The ticket of an infrastructure order: a building or grid where many homes fell
    silent together (a supply or network cut), for the grid leader or maintenance."""
    local = _LocalTimes(tz, order.opened_at)
    _, rule, utilities = (order.rule.split(":") + ["", ""])[:3]
    evidence = order.evidence
    silent = int(evidence.get("homes_silent", 0))
    total = int(evidence.get("homes_total", len(homes)))
    what = "meters offline" if rule == "meter_offline" else f"no {utilities.replace('+', ', ')} usage"
    title = f"[INFRASTRUCTURE] {scope} {area}: {silent} of {total} homes with {what}"
    action = (
        f"Check the {utilities.replace('+', ' and ')} supply of {scope} {area} (valves, pumps, the utility "
        "company, the gateway). The homes' own welfare alerts are held while this order stands; "
        "if there is no outage, resolve it (meter_fault or false_alarm) and they are handed over. "
        "For a confirmed cut, add it with `lifesign outage add` before resolving."
    )
    opened_local = local(order.opened_at)
    first = evidence.get("first_silence")
    lines = [
        f"Work order #{order.order_id}  {title}",
        f"Area:           {community} / {grid}" + (f" / bldg {area}" if scope == "building" else ""),
        f"Homes silent:   {silent} of {total} ({evidence.get('share', 0.0):.0%})",
        f"First silence:  {local.labelled(first) if first else 'not given'}",
        f"Opened:         {opened_local} ({local.label})",
        f"Assigned to:    {order.assignee} (escalation level {order.escalation_level})",
        f"Suggested:      {action}",
        f"Episode:        {order.key.as_text()}",
        *_link_lines(link),
    ]
    fields: dict[str, Any] = {
        "order_id": order.order_id,
        "episode": order.key.as_text(),
        "household_id": order.household_id,
        "rule": order.rule,
        "kind": "infrastructure",
        "tier": order.tier,
        "status": order.status.value,
        "assignee": order.assignee,
        "escalation_level": order.escalation_level,
        "opened_at": order.opened_at,
        "opened_at_local": opened_local,
        "utc_offset": local.label,
        "timezone": str(tz),
        "address": {"full": f"{community} / {grid}" + (f" / bldg {area}" if scope == "building" else ""),
                    "community": community, "grid": grid,
                    "building": area if scope == "building" else None, "unit": None, "room": None},
        "homes_silent": silent,
        "homes_total": total,
        "suggested_action": action,
        "link": link,
    }
    return Ticket(title=title, text="\n".join(lines), fields=fields)
