"""Local calendar days and wall-clock times of a scenario's time zone, as epoch seconds.

A zone is an IANA name (``Asia/Shanghai``, ``Europe/Brussels``, ``America/New_York``)
or a fixed offset (``UTC+08:00``, ``UTC-05:00``), read by :func:`lifesign.clock.parse_timezone`.
Residents live by the wall clock: a
day plan is built as *naive* times, ``midnight(day) + wall seconds since that
midnight``, and :meth:`LocalClock.real` turns them into real epoch seconds across a
daylight-saving change. Wall times that do not exist (the spring-forward hour) all
fall on the change instant; an autumn hour that repeats is lived once (its first
occurrence), so the real night around it is an hour longer.

Without a change within two days of ``day`` the naive times are returned as they are
(not even ``+ 0.0``): a zone without daylight saving gives the bytes a fixed offset
gives.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, tzinfo

import numpy as np
import numpy.typing as npt

from lifesign.clock import DEFAULT_TIMEZONE, parse_timezone

FloatArray = npt.NDArray[np.float64]
DAY, HOUR = 86400.0, 3600.0
_EPOCH = date(1970, 1, 1)


def parse_zone(name: str) -> tzinfo:
    """An IANA zone or a fixed ``UTC±HH:MM`` offset (:func:`lifesign.clock.parse_timezone`);
    ValueError naming the field and the value otherwise."""
    try:
        return parse_timezone(name)
    except ValueError as e:
        raise ValueError(f"timezone {e}") from None


def fixed_zone(utc_offset_hours: float) -> str:
    """``UTC+08:00`` for 8.0: the zone text of a fixed offset."""
    minutes = round(utc_offset_hours * 60)
    sign = "-" if minutes < 0 else "+"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


class LocalClock:
    """Local midnights, local days and wall-clock → real time for one zone."""

    def __init__(self, zone: str = DEFAULT_TIMEZONE) -> None:
        self.zone = zone
        self.tzinfo = parse_zone(zone)
        self._midnights: dict[int, float] = {}
        self._changes: dict[int, tuple[float, float, float] | None] = {}

    def offset_s(self, t: float) -> float:
        """UTC offset in seconds at the real instant ``t``."""
        offset = datetime.fromtimestamp(t, self.tzinfo).utcoffset()
        return offset.total_seconds() if offset is not None else 0.0

    def midnight(self, day: int) -> float:
        """Epoch seconds of local midnight starting local day ``day`` (days since 1970-01-01)."""
        cached = self._midnights.get(day)
        if cached is None:
            local = datetime.combine(_EPOCH + timedelta(days=day), datetime.min.time())
            # the offset in force just before midnight's wall time (no zone changes at midnight here)
            offset = self.tzinfo.utcoffset(local)
            cached = day * DAY - (offset.total_seconds() if offset is not None else 0.0)
            self._midnights[day] = cached
        return cached

    def local_day(self, t: float) -> int:
        return int(np.floor((t + self.offset_s(t)) / DAY))

    def iso(self, t: float) -> str:
        return datetime.fromtimestamp(t, self.tzinfo).isoformat()

    # -- daylight-saving changes -------------------------------------------------
    def change(self, day: int) -> tuple[float, float, float] | None:
        """(instant, offset before, offset after) of a change within local day ``day``, or None."""
        if day not in self._changes:
            a, b = self.midnight(day), self.midnight(day + 1)
            before, after = self.offset_s(a), self.offset_s(b)
            found = None
            if before != after:
                lo, hi = a, b  # the offset is `before` at lo and `after` at hi: halve to the second
                while hi - lo > 1.0:
                    mid = np.floor((lo + hi) / 2.0)
                    lo, hi = (mid, hi) if self.offset_s(mid) == before else (lo, mid)
                found = (float(hi), before, after)
            self._changes[day] = found
        return self._changes[day]

    def _changes_near(self, day: int, span_days: int = 2) -> list[tuple[float, float, float]]:
        return [c for d in range(day - 2, day + span_days + 1) if (c := self.change(d)) is not None]

    def margin_s(self, t0: float, t1: float) -> float:
        """An hour if a change lies within two days of [t0, t1), else 0: day plans reach further then."""
        days = range(self.local_day(t0) - 2, self.local_day(t1) + 3)
        return HOUR if any(self.change(d) is not None for d in days) else 0.0

    def real(self, day: int, naive: FloatArray, span_days: int = 2) -> FloatArray:
        """Real epoch seconds of wall times given as ``midnight(day) + wall seconds``, for
        times up to ``span_days`` days after that day (and two before)."""
        changes = self._changes_near(day, span_days)
        if not changes:
            return naive
        anchor = self.offset_s(self.midnight(day))
        wall = naive + anchor  # local wall seconds since 1970 (compared only)
        offset = np.full(naive.shape, changes[0][1])
        for instant, before, after in changes:
            offset = np.where(wall >= instant + before, after, offset)
        real = naive + (anchor - offset)
        for instant, before, after in changes:
            if after > before:  # spring forward: the skipped wall hour falls on the change
                real = np.where((wall >= instant + before) & (wall < instant + after), instant, real)
        return real

    def naive(self, day: int, real: FloatArray) -> FloatArray:
        """The inverse of :meth:`real`: real epoch seconds as ``midnight(day) + wall seconds``."""
        changes = self._changes_near(day)
        if not changes:
            return real
        anchor = self.offset_s(self.midnight(day))
        offset = np.full(real.shape, changes[0][1])
        for instant, _, after in changes:
            offset = np.where(real >= instant, after, offset)
        return real + (offset - anchor)


__all__ = ["DEFAULT_TIMEZONE", "LocalClock", "fixed_zone", "parse_zone"]
