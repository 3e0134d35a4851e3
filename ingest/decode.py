"""Ingest's reading decoder: a payload from one gateway's topic (the shapes of
:mod:`lifesign.wire`) into a columnar batch plus rejections. Small messages that pass
whole skip it (:mod:`ingest.fastpath`); it takes apart every other one.

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
from ingest.rejections import MAX_SAMPLES, Reason, Rejection, RejectionTally, bounded
from lifesign.readings import ReadingBatch
from lifesign.registry import Registry


@dataclass
class Decoded:
    batch: ReadingBatch
    #: every refusal counted by reason, the first few kept as samples
    tally: RejectionTally = field(default_factory=RejectionTally)

    @property
    def rejections(self) -> list[Rejection]:
        """The sampled rejections (all of them for a message of a few readings)."""
        return self.tally.samples


def _refused(reason: str, detail: str, item: Any = None, n: int = 1) -> Decoded:
    """A message refused as a whole (``n`` readings, or 1 for a message that has none)."""
    tally = RejectionTally()
    tally.add(Rejection(reason, detail, item), n)
    return Decoded(ReadingBatch.empty(), tally)


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
    #: a larger payload is refused whole, unparsed (mosquitto's own limit here is 1 MiB)
    max_payload_bytes: int = 1024 * 1024
    #: a message with more readings is refused whole: 20x a large gateway batch (500), and
    #: it keeps a message of junk from costing a Python-level check per item
    max_readings: int = 10_000
    #: nesting the lenient parser (``json``) is allowed; the strict one (orjson) stops at 1024
    max_depth: int = 64


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

    def decode(self, payload: bytes, gateway_id: str, now: float) -> Decoded:
        """The readings of one message and its rejections."""
        policy = self.policy
        if len(payload) > policy.max_payload_bytes:
            return _refused(Reason.TOO_LARGE, f"payload of {len(payload)} bytes, expected at most "
                            f"{policy.max_payload_bytes}", excerpt(payload, 128))
        try:
            doc = orjson.loads(payload)
        except orjson.JSONDecodeError as exc:
            # Python's json.dumps writes bare NaN/Infinity (and ints beyond 64 bits), which
            # strict JSON (orjson) refuses; read such a message leniently so only its bad
            # readings are rejected. Nothing else gets the slow parser, and nothing nested
            # past max_depth: the recursive parser would exhaust the stack.
            try:
                if not _LENIENT_HINT.search(payload):
                    raise ValueError(str(exc))
                if _nesting(payload) > policy.max_depth:
                    raise ValueError(f"nested deeper than {policy.max_depth} levels")
                doc = json.loads(payload)
            except (ValueError, UnicodeDecodeError, RecursionError) as lenient:
                detail = str(exc) if isinstance(lenient, RecursionError) else str(lenient)
                return _refused(Reason.MALFORMED_JSON, detail, excerpt(payload))
        if isinstance(doc, dict) and "meters" in doc:
            return self._columnar(doc, gateway_id, now)
        if isinstance(doc, dict) and "readings" in doc:
            rows = doc["readings"]
            if not isinstance(rows, list):
                return _refused(Reason.BAD_SHAPE, "'readings' must be a list", excerpt(payload))
            if len(rows) > policy.max_readings:
                return self._too_many(len(rows))
            return self._rows(rows, gateway_id, now)
        if isinstance(doc, dict) and "meter" in doc:
            return self._rows([doc], gateway_id, now)
        return _refused(Reason.BAD_SHAPE, "expected a reading, {'readings': [...]} or "
                        "{'meters': [...], 'ts': ..., 'values': [...]}", excerpt(payload))

    def _too_many(self, n: int) -> Decoded:
        return _refused(Reason.TOO_LARGE, f"{n} readings in one message, expected at most "
                        f"{self.policy.max_readings}", n=n)

    def _rows(self, rows: list[Any], gateway_id: str, now: float) -> Decoded:
        meters: list[Any] = []
        times: list[Any] = []
        values: list[Any] = []
        shapeless = RejectionTally()
        for row in rows:
            if isinstance(row, dict):
                meters.append(row.get("meter"))
                times.append(row.get("ts"))
                values.append(row.get("value"))
            elif shapeless.wants_samples():
                shapeless.add(Rejection(Reason.BAD_SHAPE, "a reading must be an object", row))
            else:
                shapeless.count(Reason.BAD_SHAPE, 1)
        decoded = self._checked(meters, times, values, gateway_id, now)
        if shapeless.counts:
            shapeless.merge(decoded.tally)
            decoded.tally = shapeless
        return decoded

    def _columnar(self, doc: dict[str, Any], gateway_id: str, now: float) -> Decoded:
        meters, ts, values = doc.get("meters"), doc.get("ts"), doc.get("values")
        if not isinstance(meters, list) or not isinstance(values, list) or len(meters) != len(values):
            return _refused(Reason.BAD_SHAPE, "'meters' and 'values' must be lists of one length", _outline(doc))
        if isinstance(ts, list) and len(ts) != len(meters):
            return _refused(Reason.BAD_SHAPE, "'ts' must be one time or a list as long as 'meters'", _outline(doc))
        if len(meters) > self.policy.max_readings:
            return self._too_many(len(meters))
        if not isinstance(ts, list) and len(meters) <= _SCALAR_MAX:
            ts = [ts] * len(meters)
        return self._checked(meters, ts, values, gateway_id, now)

    def _checked(self, meters: list[Any], times: list[Any] | Any, values: list[Any], gateway_id: str,
                 now: float) -> Decoded:
        """Check readings column by column (numpy); only the bad ones become objects,
        and of those only the first few (the rest are counted by reason, in numpy).
        ``times`` is a list, or one time for every reading (a columnar round)."""
        n = len(meters)
        if n == 0:
            return Decoded(ReadingBatch.empty())
        if n <= _SCALAR_MAX:
            return self._checked_scalar(meters, times, values, gateway_id, now)
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
        if good.all():
            return Decoded(batch)
        tally = RejectionTally()
        for i in np.flatnonzero(~good)[:MAX_SAMPLES].tolist():
            ts_raw = times[i] if isinstance(times, list) else times
            tally.samples.append(self._rejection(meters[i], ts_raw, values[i], gateway_id, now))
        # The counts, vectorised, deciding a reason in the order _rejection does
        # (a NaN time compares False, so not_future implies a parsed time).
        if gateway < 0:  # an unregistered gateway: every reading it sends, whatever the meter
            tally.count(Reason.UNKNOWN_GATEWAY, n)
            return Decoded(batch, tally)
        placed = known & bound
        tally.count(Reason.UNKNOWN_METER, int((~known).sum()))
        tally.count(Reason.WRONG_GATEWAY, int((known & ~bound).sum()))
        tally.count(Reason.FUTURE_TIMESTAMP, int((placed & ts_ok & ~not_future).sum()))
        tally.count(Reason.BAD_TIMESTAMP, int((placed & (~ts_ok | (not_future & ~not_past))).sum()))
        bad_value = np.flatnonzero(placed & not_future & not_past & ~value_ok).tolist()
        implausible = sum(1 for i in bad_value if _implausible_number(values[i]))
        tally.count(Reason.IMPLAUSIBLE_VALUE, implausible)
        tally.count(Reason.BAD_VALUE, len(bad_value) - implausible)
        return Decoded(batch, tally)

    def _rejection(self, meter: Any, ts_raw: Any, value: Any, gateway_id: str, now: float) -> Rejection:
        """Why one reading was refused (worked out only for the sampled ones)."""
        item = {"meter": meter, "ts": ts_raw, "value": value}
        # an unregistered gateway first: every reading it sends is refused, whatever the meter
        gateway = self.registry.gateway_index.get(gateway_id, -2)
        if gateway < 0:
            return Rejection(Reason.UNKNOWN_GATEWAY, f"gateway {gateway_id!r} is not in the registry (no meter in "
                             "meters.csv names it)", item)
        index = self.registry.meter_index.get(meter, -1) if type(meter) is str else -1
        if index < 0:
            return Rejection(Reason.UNKNOWN_METER, f"meter {_shown(meter)} is not registered", item)
        if self.registry.meter_gateway[index] != gateway:
            bound = self.registry.gateway_ids[int(self.registry.meter_gateway[index])]
            return Rejection(Reason.WRONG_GATEWAY, f"meter {_shown(meter)} is bound to gateway {bound!r}, not this one",
                             item)
        ts = _parse_ts(ts_raw)
        if ts is None:
            return Rejection(Reason.BAD_TIMESTAMP, "ts must be epoch seconds/milliseconds or RFC 3339 with an "
                             f"offset, got {_shown(ts_raw)}", item)
        if ts > now + self.policy.max_future_s:
            return Rejection(Reason.FUTURE_TIMESTAMP, f"ts {_shown(ts_raw)} is {ts - now:.0f} s ahead of the clock", item)
        if ts < now - self.policy.max_past_s:
            return Rejection(Reason.BAD_TIMESTAMP, f"ts {_shown(ts_raw)} is {(now - ts) / 86400:.0f} days behind "
                             "the clock", item)
        if _implausible_number(value):
            return Rejection(Reason.IMPLAUSIBLE_VALUE, f"value must be finite and at most {self.policy.max_value:g} "
                             f"(a register's maximum), got {_shown(value)}", item)
        return Rejection(Reason.BAD_VALUE, f"value must be a number >= 0, got {_shown(value)}", item)

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
                        now: float) -> Decoded:
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
        tally = RejectionTally()
        for i, meter in enumerate(meters):
            index = lookup(meter, -1) if type(meter) is str else -1
            ts = _parse_ts(times[i])
            value = _value(values[i])
            if (index < 0 or meter_gateway[index] != gateway or ts is None or not lo <= ts <= hi or value is None
                    or value > top):
                tally.add(self._rejection(meter, times[i], values[i], gateway_id, now))
                continue
            good_m.append(index)
            good_t.append(ts)
            good_v.append(value)
        batch = ReadingBatch(np.array(good_m, dtype=np.int32), np.array(good_t, dtype=np.float64),
                             np.array(good_v, dtype=np.float64))
        return Decoded(batch, tally)


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


def _shown(raw: Any) -> str:
    """A raw item in a rejection's detail, bounded (``repr`` of a list nested a thousand
    deep raises RecursionError; of a 100k-item list, it is a megabyte)."""
    text = repr(bounded(raw, depth=2))
    return text if len(text) <= 80 else text[:80] + "..."


def _outline(doc: dict[str, Any]) -> dict[str, str]:
    """What a misshapen columnar message holds, without echoing its contents."""
    return {str(key)[:64]: f"{type(value).__name__} of {len(value)}" if isinstance(value, (list, dict, str))
            else type(value).__name__ for key, value in list(doc.items())[:8]}


def _nesting(payload: bytes) -> int:
    """An upper bound of the payload's JSON nesting (brackets inside strings count too)."""
    raw = np.frombuffer(payload, dtype=np.uint8)
    opens = (raw == ord("[")) | (raw == ord("{"))
    closes = (raw == ord("]")) | (raw == ord("}"))
    depth = np.cumsum(opens.astype(np.int32) - closes.astype(np.int32))
    return int(depth.max()) if len(depth) else 0
