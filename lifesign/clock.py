"""Event time and local time for every stage.

Stages never call ``time.time()``: they ask a :class:`Clock`. The service uses
:class:`WallClock`; demos, replays and tests use :class:`ManualClock`, which the
simulator advances, so the same code runs at any acceleration.

Local time has one source: the site's IANA zone (``timezone:`` in site.yaml, default
:data:`DEFAULT_TIMEZONE`), passed down as a ``tzinfo``. Event time stays UTC epoch seconds.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

#: the zone of a site that names none (the homes lifesign was built for)
DEFAULT_TIMEZONE = "Asia/Shanghai"


def parse_timezone(name: str) -> tzinfo:
    """An IANA zone (Asia/Shanghai) or a fixed offset (UTC, UTC+8, UTC-03:30).

    >>> parse_timezone("UTC+5:30").utcoffset(None), str(parse_timezone("Europe/Brussels"))
    (datetime.timedelta(seconds=19800), 'Europe/Brussels')
    """
    text = name.strip()
    if text.upper().startswith("UTC") and (len(text) == 3 or text[3] in "+-"):
        if len(text) == 3:
            return UTC
        sign = -1 if text[3] == "-" else 1
        hours, _, minutes = text[4:].partition(":")
        try:
            offset = timedelta(hours=int(hours), minutes=int(minutes or 0))
        except ValueError:
            raise ValueError(f"must be an IANA time zone or UTC±H[:MM], got {name!r}") from None
        return timezone(sign * offset)
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"must be an IANA time zone (e.g. Asia/Shanghai) or UTC±H[:MM], got {name!r}") from None


#: the default zone itself, for signatures that take a ``tzinfo``
DEFAULT_TZ = parse_timezone(DEFAULT_TIMEZONE)

_FIXED: dict[tzinfo, float | None] = {}


def fixed_offset(tz: tzinfo) -> float | None:
    """The zone's offset in seconds if it never changed over 2000-2040, else None.

    >>> fixed_offset(DEFAULT_TZ), fixed_offset(parse_timezone("Europe/Brussels"))
    (28800.0, None)
    """
    if tz not in _FIXED:
        samples = {tz.utcoffset(datetime(year, month, 15, tzinfo=UTC).replace(tzinfo=None))
                   for year in range(2000, 2041) for month in (1, 4, 7, 10)}
        _FIXED[tz] = samples.pop().total_seconds() if len(samples) == 1 else None  # type: ignore[union-attr]
    return _FIXED[tz]


#: the default zone's offset, for the simulators' model homes (which live at a fixed offset)
DEFAULT_UTC_OFFSET_HOURS = (fixed_offset(DEFAULT_TZ) or 0.0) / 3600.0


def local_time(epoch_s: float, tz: tzinfo) -> str:
    """
    >>> local_time(0, DEFAULT_TZ)
    '1970-01-01 08:00'
    """
    return datetime.fromtimestamp(epoch_s, tz).strftime("%Y-%m-%d %H:%M")


def utc_offset_label(epoch_s: float, tz: tzinfo) -> str:
    """The zone's real offset at that instant (daylight saving included).

    >>> brussels = parse_timezone("Europe/Brussels")
    >>> utc_offset_label(1_750_000_000, brussels), utc_offset_label(1_735_000_000, brussels)
    ('UTC+2', 'UTC+1')
    >>> utc_offset_label(0, parse_timezone("UTC+5:30")), utc_offset_label(0, parse_timezone("UTC-3"))
    ('UTC+5:30', 'UTC-3')
    """
    offset = datetime.fromtimestamp(epoch_s, tz).utcoffset() or timedelta(0)
    seconds = offset.total_seconds()
    sign = "-" if seconds < 0 else "+"
    hours, rest = divmod(round(abs(seconds) / 60), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


class Clock(Protocol):
    def now(self) -> float:
        """Current event time, epoch seconds (UTC)."""
        ...


class WallClock:
    """Real time."""

    def now(self) -> float:
        return time.time()


class ManualClock:
    """Simulated time, moved forward explicitly (never backwards).

    >>> c = ManualClock(100.0)
    >>> c.advance_to(160.0); c.now()
    160.0
    >>> c.advance_to(150.0); c.now()  # moving back is ignored: event time is monotonic
    160.0
    """

    def __init__(self, start: float) -> None:
        self._now = float(start)
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def advance_to(self, t: float) -> None:
        with self._lock:
            if t > self._now:
                self._now = float(t)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += max(0.0, float(seconds))
