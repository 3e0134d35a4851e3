"""A batch of small messages decoded in one pass: the common case of one reading per
message, where the decoder's per-message work (its checks are written for any
shape, and report every refusal with a reason) cost more than paho's own.

Each message is still parsed on its own (``orjson.loads``: a message never reads
into its neighbour). The loop only recognises the two small shapes, a single
reading and a columnar round of at most a few meters with plain numbers, and
collects their raw fields; the checks then run once over the whole batch, with
numpy. A message of any other shape, or with any reading that fails a check, is
handed to :meth:`ReadingDecoder.decode` alone, which takes what it can and gives
every refusal its reason, exactly as if the fast pass did not exist. So the fast
pass only ever accepts readings the decoder would accept, with the same values.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import repeat
from typing import Any

import numpy as np
import orjson

from ingest.decode import ReadingDecoder
from lifesign.readings import ReadingBatch
from lifesign.wire import readings_topic

#: a columnar round with more meters goes to the decoder (its numpy checks pay off there)
MAX_FAST_READINGS = 8
#: epoch milliseconds: any time above this (the decoder's rule)
_MS_ABOVE = 1e11


class FastPass:
    """Finds the small messages of a batch whose readings all pass, and their readings."""

    def __init__(self, decoder: ReadingDecoder) -> None:
        self.decoder = decoder
        registry = decoder.registry
        #: readings topic -> gateway index, for registered gateways only (bounded by the registry)
        self._gateway_of_topic = {readings_topic(g): i for g, i in registry.gateway_index.items()}

    def split(self, topics: Sequence[str], payloads: Sequence[bytes | bytearray], now: float) -> tuple[ReadingBatch,
                                                                                          np.ndarray, np.ndarray]:
        """(readings, owner, passed): the readings of the messages that passed whole, in
        arrival order, ``owner[i]`` the position in the batch of reading i's message,
        and ``passed[j]`` whether message j is among them. The other messages are the
        decoder's to take apart."""
        meters: list[Any] = []
        times: list[Any] = []
        values: list[Any] = []
        gateways: list[int] = []
        owners: list[int] = []
        declined: list[int] = []  # messages for the decoder
        gateway_of_topic = self._gateway_of_topic.get
        max_bytes = self.decoder.policy.max_payload_bytes
        loads, JSONDecodeError = orjson.loads, orjson.JSONDecodeError
        for j, (topic, payload) in enumerate(zip(topics, payloads)):
            gateway = gateway_of_topic(topic)
            if gateway is None or len(payload) > max_bytes:
                declined.append(j)
                continue
            try:
                doc = loads(payload)
            except JSONDecodeError:
                declined.append(j)
                continue
            if type(doc) is not dict:
                declined.append(j)
            elif "meters" in doc:
                column, ts, column_values = doc["meters"], doc.get("ts"), doc.get("values")
                if type(column) is not list or type(column_values) is not list:
                    declined.append(j)
                    continue
                k = len(column)
                if k == 1 and len(column_values) == 1 and (type(ts) is float or type(ts) is int):
                    meters.append(column[0])  # the usual round of one meter
                    times.append(ts)
                    values.append(column_values[0])
                    gateways.append(gateway)
                    owners.append(j)
                elif len(column_values) != k or k > MAX_FAST_READINGS:
                    declined.append(j)
                elif type(ts) is list and len(ts) == k:
                    times += ts
                    meters += column
                    values += column_values
                    gateways += [gateway] * k
                    owners += [j] * k
                elif type(ts) is float or type(ts) is int:
                    times += [ts] * k
                    meters += column
                    values += column_values
                    gateways += [gateway] * k
                    owners += [j] * k
                else:
                    declined.append(j)
            elif "readings" in doc or "meter" not in doc:
                declined.append(j)
            else:
                meters.append(doc["meter"])
                times.append(doc.get("ts"))
                values.append(doc.get("value"))
                gateways.append(gateway)
                owners.append(j)
        passed = np.ones(len(payloads), dtype=bool)
        passed[declined] = False
        owner = np.array(owners, dtype=np.intp)
        meter, ts, value, ok = self._checked(meters, times, values, gateways, now)
        passed[owner[~ok]] = False
        keep = passed[owner]
        return ReadingBatch(meter[keep].astype(np.int32), ts[keep], value[keep]), owner[keep], passed

    def _checked(self, meters: list[Any], times: list[Any], values: list[Any], gateways: list[int], now: float
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(meter index, ts, value, ok) of the collected readings, with the decoder's checks:
        a registered meter of the message's gateway, a time in epoch seconds or milliseconds
        within the policy's window, a finite register value from 0 to the maximum."""
        registry, policy = self.decoder.registry, self.decoder.policy
        meter, raw_ts, value = _columns(registry.meter_index, meters, times, values)
        known = meter >= 0
        ok = known.copy()
        ok[known] = registry.meter_gateway[meter[known]] == np.array(gateways, dtype=np.int64)[known]
        with np.errstate(invalid="ignore"):
            ts = np.where(raw_ts > _MS_ABOVE, raw_ts / 1000.0, raw_ts)
            ok &= np.isfinite(raw_ts) & (raw_ts > 0)
            ok &= (ts >= now - policy.max_past_s) & (ts <= now + policy.max_future_s)
            ok &= np.isfinite(value) & (value >= 0) & (value <= policy.max_value)
        return meter, ts, value, ok


def _columns(meter_index: dict[str, int], meters: list[Any], times: list[Any], values: list[Any]
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The raw columns as arrays: -1 for a meter that is not a registered id, NaN for a time
    or value that is not a plain int or float (text, bool, null, an int beyond float range),
    so the checks refuse them. In C for the usual batch; item by item when one is odd."""
    n = len(meters)
    try:
        meter = np.fromiter(map(meter_index.get, meters, repeat(-1)), dtype=np.int64, count=n)
    except TypeError:  # an unhashable meter (a list)
        meter = np.fromiter((meter_index.get(m, -1) if type(m) is str else -1 for m in meters), dtype=np.int64,
                            count=n)
    return meter, _numbers(times), _numbers(values)


def _numbers(column: list[Any]) -> np.ndarray:
    if set(map(type, column)) <= {float, int}:  # one look at every item's type, in C
        try:
            return np.array(column, dtype=np.float64)
        except OverflowError:
            pass
    return np.array([_number(x) for x in column], dtype=np.float64)


def _number(raw: Any) -> float:
    if type(raw) is float or type(raw) is int:
        try:
            return float(raw)
        except OverflowError:
            return math.nan
    return math.nan
