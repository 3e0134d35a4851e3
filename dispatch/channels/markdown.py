"""A ticket as the short Markdown a group chat shows (WeCom and DingTalk group bots).

Both render a small Markdown subset (headings, bold, quotes, line breaks). The text
ends with a reference line carrying the delivery's idempotency key, so a repeat is
recognisable in the group and by any bridge that reads the messages.
"""

from __future__ import annotations

from typing import Any

from lifesign.grid import Worker


def ticket_markdown(payload: dict[str, Any], recipient: Worker, mention: str = "") -> str:
    address = payload.get("address") or {}
    resident = payload.get("resident") or {}
    lines = [f"### {payload.get('title', 'lifesign work order')}",
             f"**For:** {recipient.name} ({recipient.phone}){(' ' + mention) if mention else ''}"]
    if address.get("full"):
        lines.append(f"**Address:** {address['full']}")
    if resident:
        lines.append(f"**Resident:** {resident.get('name')}, age {resident.get('age')}, tier "
                     f"{payload.get('tier')}, phone {resident.get('phone')}")
        lines.append(f"**Emergency contact:** {resident.get('emergency_contact')}")
    if payload.get("kind") == "infrastructure":
        lines.append(f"**Homes silent:** {payload.get('homes_silent')} of {payload.get('homes_total')}")
    silence, threshold = payload.get("confirmed_silence_h"), payload.get("threshold_h")
    if silence is not None:
        lines.append(f"**Silence:** {silence:g} h" + (f" (threshold {threshold:g} h)" if threshold is not None else ""))
    activity = payload.get("last_activity") or {}
    if activity:
        shown = ", ".join(f"{u} {(v or {}).get('local', 'no data')}" for u, v in activity.items())
        lines.append(f"**Last activity ({payload.get('utc_offset', '')}):** {shown}")
    lines.append(f"**Do:** {payload.get('suggested_action', '')}")
    if payload.get("link"):
        # the recipient's own signed page: accept (接单), on site (到场), resolve (结案)
        lines.append(f"**[打开工单 · 接单 / Open the order]({payload['link']})**")
    lines.append(f"> order #{payload.get('order_id')} level {payload.get('escalation_level')}")
    return "\n\n".join(lines)


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
