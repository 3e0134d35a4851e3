"""Ingest's reading decoder: a payload from one gateway's topic (the shapes of
:mod:`lifesign.wire`) into a columnar batch plus rejections, and the batch builder
that joins the good readings of many messages.

Decoding never raises: every reading that fails a check becomes a :class:`Rejection`
with a reason, and the good readings of the same message are kept.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import orjson

from ingest.plausible import MAX_REGISTER_VALUE, MaxRates, describe
from lifesign.readings import ReadingBatch
from lifesign.registry import Registry


class Reason:
    """Why a reading was rejected: the label on counters and dead letters."""

    MALFORMED_JSON = "malformed_json"
    BAD_SHAPE = "bad_shape"
    UNKNOWN_METER = "unknown_meter"
    WRONG_GATEWAY = "wrong_gateway"
    #: the topic's gateway is not in meters.csv at all: a new gateway not yet registered, or a typo
    UNKNOWN_GATEWAY = "unknown_gateway"
    BAD_TIMESTAMP = "bad_timestamp"
    FUTURE_TIMESTAMP = "future_timestamp"
    BAD_VALUE = "bad_value"
    #: not finite, beyond a register's maximum, or more than the meter's maximum rate
    IMPLAUSIBLE_VALUE = "implausible_value"


@dataclass(frozen=True)
class Rejection:
    reason: str
    detail: str
    #: the offending part of the payload, as far as it could be read
    item: Any = None


@dataclass
class Decoded:
    batch: ReadingBatch
    rejections: list[Rejection] = field(default_factory=list)


@dataclass(frozen=True)
class DecodePolicy:
    #: readings further than this in the future of the clock are rejected (gateway clock skew)
    max_future_s: float = 300.0
    #: readings older than this are rejected: a gateway whose clock reset to 1970/2000
    #: would otherwise make a home look silent for decades
    max_past_s: float = 30 * 86400.0
    #: larger values (and NaN, infinities) are implausible_value: no register shows them
    max_value: float = MAX_REGISTER_VALUE
    #: the most each utility's connection carries; checked against the meter's previous
    #: reading after decoding (:class:`~ingest.seen.SeenReadings` knows it)
    max_rate: MaxRates = field(default_factory=MaxRates)


_LENIENT_HINT = re.compile(rb"NaN|Infinity|\d{20}")


def _parse_ts(raw: Any) -> float | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, (int, float)):
        try:
            ts = float(raw)
        except OverflowError:
            return None
        if not math.isfinite(ts) or ts <= 0:
            return None
        return ts / 1000.0 if ts > 1e11 else ts
    if isinstance(raw, str):
        try:
            parsed = datetime.fromisoformat(raw)
        except ValueError:
            return None
        if parsed.tzinfo is None:  # RFC 3339 requires an offset; a bare local time is ambiguous
            return None
        return parsed.timestamp()
    return None


def _value_ok(raw: Any) -> bool:
    return type(raw) in (int, float) and math.isfinite(raw) and raw >= 0


class ReadingDecoder:
    """Turns a payload from one gateway's topic into a batch plus rejections."""

    def __init__(self, registry: Registry, policy: DecodePolicy | None = None) -> None:
        self.registry = registry
        self.policy = policy or DecodePolicy()

    def decode(self, payload: bytes, gateway_id: str, now: float, into: BatchBuilder | None = None) -> Decoded:
        """The readings of one message and its rejections. With ``into``, the good
        readings go there instead (in arrival order) and ``Decoded.batch`` is empty."""
        try:
            doc = orjson.loads(payload)
        except orjson.JSONDecodeError as exc:
            # Python's json.dumps writes bare NaN/Infinity (and ints beyond 64 bits), which
            # strict JSON (orjson) refuses; read such a message leniently so only its bad
            # readings are rejected. Nothing else gets the slow parser: a hostile payload
            # nested thousands deep would exhaust its recursion.
            try:
                if not _LENIENT_HINT.search(payload):
                    raise ValueError(str(exc))
                doc = json.loads(payload)
            except (ValueError, UnicodeDecodeError, RecursionError):
                return Decoded(ReadingBatch.empty(), [Rejection(Reason.MALFORMED_JSON, str(exc), excerpt(payload))])
        if isinstance(doc, dict) and "meters" in doc:
            return self._columnar(doc, gateway_id, now, into)
        if isinstance(doc, dict) and "readings" in doc:
            rows = doc["readings"]
            if not isinstance(rows, list):
                return Decoded(ReadingBatch.empty(), [Rejection(Reason.BAD_SHAPE, "'readings' must be a list", doc)])
            return self._rows(rows, gateway_id, now, into)
        if isinstance(doc, dict) and "meter" in doc:
            return self._rows([doc], gateway_id, now, into)
        return Decoded(
            ReadingBatch.empty(),
            [Rejection(Reason.BAD_SHAPE, "expected a reading, {'readings': [...]} or {'meters': [...], 'ts': ..., 'values': [...]}", excerpt(payload))],
        )

    def _rows(self, rows: list[Any], gateway_id: str, now: float, into: BatchBuilder | None = None) -> Decoded:
        meters: list[Any] = []
        times: list[Any] = []
        values: list[Any] = []
        rejections: list[Rejection] = []
        for row in rows:
            if isinstance(row, dict):
                meters.append(row.get("meter"))
                times.append(row.get("ts"))
                values.append(row.get("value"))
            else:
                rejections.append(Rejection(Reason.BAD_SHAPE, "a reading must be an object", row))
        decoded = self._checked(meters, times, values, gateway_id, now, into)
        decoded.rejections[:0] = rejections
        return decoded

    def _columnar(self, doc: dict[str, Any], gateway_id: str, now: float, into: BatchBuilder | None = None) -> Decoded:
        meters, ts, values = doc.get("meters"), doc.get("ts"), doc.get("values")
        if not isinstance(meters, list) or not isinstance(values, list) or len(meters) != len(values):
            return Decoded(ReadingBatch.empty(), [Rejection(Reason.BAD_SHAPE, "'meters' and 'values' must be lists of one length", excerpt(orjson.dumps(doc)))])
        if isinstance(ts, list) and len(ts) != len(meters):
            return Decoded(ReadingBatch.empty(), [Rejection(Reason.BAD_SHAPE, "'ts' must be one time or a list as long as 'meters'", excerpt(orjson.dumps(doc)))])
        if not isinstance(ts, list) and len(meters) <= _SCALAR_MAX:
            ts = [ts] * len(meters)
        return self._checked(meters, ts, values, gateway_id, now, into)

    def _checked(self, meters: list[Any], times: list[Any] | Any, values: list[Any], gateway_id: str,
                 now: float, into: BatchBuilder | None = None) -> Decoded:
        """Check readings column by column (numpy); only the bad ones become objects.
        ``times`` is a list, or one time for every reading (a columnar round)."""
        n = len(meters)
        if n == 0:
            return Decoded(ReadingBatch.empty(), [])
        if n <= _SCALAR_MAX:
            return self._checked_scalar(meters, times, values, gateway_id, now, into)
        try:  # every meter known (the usual case): one C-level pass
            index = np.array(list(map(self.registry.meter_index.__getitem__, meters)), dtype=np.int64)
        except (KeyError, TypeError):  # an unknown or unhashable meter: item by item
            lookup = self.registry.meter_index.get
            index = np.fromiter((lookup(m, -1) if type(m) is str else -1 for m in meters), dtype=np.int64, count=n)
        gateway = self.registry.gateway_index.get(gateway_id, -2)
        known = index >= 0
        bound = np.zeros(n, dtype=bool)
        bound[known] = self.registry.meter_gateway[index[known]] == gateway
        ts = _numbers(times, _parse_ts) if isinstance(times, list) else np.full(n, _or_nan(_parse_ts(times)))
        value = _numbers(values, _value)
        ts_ok = ~np.isnan(ts)
        not_future = ts <= now + self.policy.max_future_s
        not_past = ts >= now - self.policy.max_past_s
        value[value > self.policy.max_value] = np.nan
        value_ok = ~np.isnan(value)
        good = known & bound & ts_ok & not_future & not_past & value_ok
        batch = ReadingBatch(index[good].astype(np.int32), ts[good], value[good])
        if into is not None:
            into.add_batch(batch)
            batch = ReadingBatch.empty()
        if good.all():
            return Decoded(batch, [])
        bad = np.flatnonzero(~good).tolist()
        times_of = times if isinstance(times, list) else [times] * n
        return Decoded(batch, [self._rejection(meters[i], times_of[i], values[i], gateway_id, now) for i in bad])

    def _rejection(self, meter: Any, ts_raw: Any, value: Any, gateway_id: str, now: float) -> Rejection:
        """Why one reading was refused (worked out only for the refused ones)."""
        item = {"meter": meter, "ts": ts_raw, "value": value}
        # an unregistered gateway first: every reading it sends is refused, whatever the meter
        gateway = self.registry.gateway_index.get(gateway_id, -2)
        if gateway < 0:
            return Rejection(Reason.UNKNOWN_GATEWAY, f"gateway {gateway_id!r} is not in the registry (no meter in "
                             "meters.csv names it)", item)
        index = self.registry.meter_index.get(meter, -1) if type(meter) is str else -1
        if index < 0:
            return Rejection(Reason.UNKNOWN_METER, f"meter {meter!r} is not registered", item)
        if self.registry.meter_gateway[index] != gateway:
            bound = self.registry.gateway_ids[int(self.registry.meter_gateway[index])]
            return Rejection(Reason.WRONG_GATEWAY, f"meter {meter!r} is bound to gateway {bound!r}, not this one", item)
        ts = _parse_ts(ts_raw)
        if ts is None:
            return Rejection(Reason.BAD_TIMESTAMP, f"ts must be epoch seconds/milliseconds or RFC 3339 with an offset, got {ts_raw!r}", item)
        if ts > now + self.policy.max_future_s:
            return Rejection(Reason.FUTURE_TIMESTAMP, f"ts {ts_raw!r} is {ts - now:.0f} s ahead of the clock", item)
        if ts < now - self.policy.max_past_s:
            return Rejection(Reason.BAD_TIMESTAMP, f"ts {ts_raw!r} is {(now - ts) / 86400:.0f} days behind the clock", item)
        if _implausible_number(value):
            return Rejection(Reason.IMPLAUSIBLE_VALUE, f"value must be finite and at most {self.policy.max_value:g} "
                             f"(a register's maximum), got {value!r}", item)
        return Rejection(Reason.BAD_VALUE, f"value must be a number >= 0, got {value!r}", item)

    def too_fast(self, readings: ReadingBatch, rate_per_s: np.ndarray) -> list[tuple[str, Rejection]]:
        """(gateway, rejection) for readings that imply more than their meter's maximum flow or
        power (found against the previous reading after decoding). Decoding checked each
        meter's gateway binding, so the meter's gateway is the sender."""
        registry = self.registry
        out = []
        for i in range(len(readings)):
            meter = int(readings.meter[i])
            item = {"meter": str(registry.meter_ids[meter]), "ts": float(readings.ts[i]), "value": float(readings.value[i])}
            detail = describe(readings, rate_per_s, registry.meter_utility, self.policy.max_rate, i)
            out.append((registry.gateway_ids[int(registry.meter_gateway[meter])],
                        Rejection(Reason.IMPLAUSIBLE_VALUE, detail, item)))
        return out

    def _checked_scalar(self, meters: list[Any], times: list[Any], values: list[Any], gateway_id: str,
                        now: float, into: BatchBuilder | None = None) -> Decoded:
        """The same checks in plain Python: for a message of a few readings, numpy's
        per-call cost would be most of the work (one-reading messages are common)."""
        lookup = self.registry.meter_index.get
        gateway = self.registry.gateway_index.get(gateway_id, -2)
        meter_gateway = self.registry.meter_gateway
        lo, hi = now - self.policy.max_past_s, now + self.policy.max_future_s
        top = self.policy.max_value
        good_m: list[int] = []
        good_t: list[float] = []
        good_v: list[float] = []
        bad: list[int] = []
        for i, meter in enumerate(meters):
            index = lookup(meter, -1) if type(meter) is str else -1
            ts = _parse_ts(times[i])
            value = _value(values[i])
            if (index < 0 or meter_gateway[index] != gateway or ts is None or not lo <= ts <= hi or value is None
                    or value > top):
                bad.append(i)
                continue
            good_m.append(index)
            good_t.append(ts)
            good_v.append(value)
        if into is not None:
            into.add_rows(good_m, good_t, good_v)
            batch = ReadingBatch.empty()
        else:
            batch = ReadingBatch(np.array(good_m, dtype=np.int32), np.array(good_t, dtype=np.float64),
                                 np.array(good_v, dtype=np.float64))
        return Decoded(batch, [self._rejection(meters[i], times[i], values[i], gateway_id, now) for i in bad])


class BatchBuilder:
    """The good readings of many messages as one batch, in arrival order. Small messages
    arrive as Python lists and become arrays once for all of them: numpy's per-call
    cost would be most of the work for a one-reading message."""

    def __init__(self) -> None:
        self._parts: list[ReadingBatch] = []
        self._meter: list[int] = []
        self._ts: list[float] = []
        self._value: list[float] = []

    def add_rows(self, meter: list[int], ts: list[float], value: list[float]) -> None:
        self._meter += meter
        self._ts += ts
        self._value += value

    def add_batch(self, batch: ReadingBatch) -> None:
        self._flush()
        self._parts.append(batch)

    def _flush(self) -> None:
        if self._meter:
            self._parts.append(ReadingBatch(np.array(self._meter, dtype=np.int32), np.array(self._ts, dtype=np.float64),
                                            np.array(self._value, dtype=np.float64)))
            self._meter, self._ts, self._value = [], [], []

    def build(self) -> ReadingBatch:
        self._flush()
        return ReadingBatch.concat(self._parts)


#: messages with at most this many readings are checked without numpy
_SCALAR_MAX = 8


def _numbers(raw: list[Any], parse: Any) -> np.ndarray:
    """A float column with NaN where an item is not acceptable: vectorised when every
    item is a plain int or float (the usual case), item by item otherwise."""
    if set(map(type, raw)) <= {float, int}:
        try:
            column = np.array(raw, dtype=np.float64)
        except OverflowError:  # an int beyond float range
            column = None
        if column is not None:
            return _vector_ts(column) if parse is _parse_ts else _vector_value(column)
    return np.array([_or_nan(parse(x)) for x in raw], dtype=np.float64)


def _or_nan(x: float | None) -> float:
    return math.nan if x is None else x


def _vector_ts(column: np.ndarray) -> np.ndarray:
    bad = ~np.isfinite(column) | (column <= 0)
    out = np.where(column > 1e11, column / 1000.0, column)  # epoch milliseconds
    out[bad] = np.nan
    return out


def _vector_value(column: np.ndarray) -> np.ndarray:
    out = column.copy()
    out[~np.isfinite(out) | (out < 0)] = np.nan
    return out


def _implausible_number(raw: Any) -> bool:
    """A number refused for its size, not its kind: NaN, ±infinity, an integer beyond float
    range, or a non-negative value past the register maximum (negative ones are bad_value)."""
    if type(raw) not in (int, float):
        return False
    try:
        number = float(raw)
    except OverflowError:
        return True
    return not math.isfinite(number) or number >= 0


def _value(raw: Any) -> float | None:
    try:
        return float(raw) if _value_ok(raw) else None
    except OverflowError:  # an int beyond float range
        return None


def excerpt(payload: bytes, limit: int = 512) -> str:
    """The start of a payload as text, for logs and dead letters."""
    return payload[:limit].decode("utf-8", errors="replace")


def encode_rejection(gateway_id: str, rejection: Rejection, at: float) -> bytes:
    """The dead letter for one rejection. It must never fail (the message would never be
    acked): an item orjson cannot write, such as an integer beyond 64 bits, goes as text."""
    letter = {"gateway": gateway_id, "reason": rejection.reason, "detail": rejection.detail,
              "item": rejection.item, "at": at}
    try:
        return orjson.dumps(letter, default=str)
    except TypeError:
        letter["item"] = repr(rejection.item)[:512]
        return orjson.dumps(letter, default=str)
