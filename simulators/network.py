"""Meter gateways as they really are: batching, retrying, reordering, offline, skewed, noisy.

:class:`GatewayNetwork` turns a scenario's rounds into the MQTT messages gateways
would send, and keeps a :class:`NetworkReport` of every fault it put in, so a test
can hold ingest's counters against it. It does no I/O (:mod:`simulators.gateways`
publishes the messages).

Assumptions of the model (each fault is off at 0):

* A gateway sends its meters' readings of a round as one columnar message to
  ``lifesign/v1/readings/{gateway}``; with ``batch_rounds`` k it sends every k rounds
  one message with a ``ts`` list.
* **offline**: with ``offline_p`` per gateway and round a gateway goes offline for
  ``offline_rounds`` rounds; it keeps its readings and sends them as one backlog
  message when back (store and forward). Nothing is lost.
* **duplicate**: with ``duplicate_p`` a message is sent twice (a PUBACK lost, the
  gateway retried): every reading in it is a duplicate.
* **reorder**: with ``reorder_p`` a message is held back and sent after the gateway's
  next message: its readings arrive after newer readings of the same meters.
* **skew**: ``skewed_share`` of gateways stamp readings with a clock off by up to
  ``max_skew_s`` either way (constant per gateway). Kept at most 240 s ahead so the
  pipeline's 300 s "future" check never rejects a reading: the counts stay exact.
* **garbage**: with ``garbage_p`` per gateway and round an extra garbage payload,
  one of :data:`GARBAGE_KINDS`; each makes ingest reject exactly one item, for the
  reason in :data:`GARBAGE_REASONS`.
* **NB-IoT** meters (``nbiot`` in :class:`~simulators.meters.MeterCadence`) keep their
  hourly readings and upload them once a day, each meter at its own hour of the night
  (00:00-06:00 local), one message per meter.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field

import numpy as np
import numpy.typing as npt
import orjson

from lifesign.clock import DEFAULT_UTC_OFFSET_HOURS
from lifesign.registry import Registry
from lifesign.wire import readings_topic
from simulators.meters import MeterCadence
from simulators.scenario import Round

GARBAGE_KINDS = ("not_json", "truncated_json", "bad_shape", "unknown_meter", "bad_value", "bad_timestamp")
#: the rejection reason (ingest.decode.Reason) each garbage payload earns, once
GARBAGE_REASONS = {
    "not_json": "malformed_json",
    "truncated_json": "malformed_json",
    "bad_shape": "bad_shape",
    "unknown_meter": "unknown_meter",
    "bad_value": "bad_value",
    "bad_timestamp": "bad_timestamp",
}
MAX_SKEW_AHEAD_S = 240.0
_STREAM_NETWORK = 0x4E455457
HOUR, DAY = 3600.0, 86400.0


@dataclass(frozen=True)
class GatewayFaults:
    duplicate_p: float = 0.0
    reorder_p: float = 0.0
    offline_p: float = 0.0
    offline_rounds: tuple[int, int] = (4, 16)
    skewed_share: float = 0.0
    max_skew_s: float = 0.0
    garbage_p: float = 0.0
    batch_rounds: int = 1

    def __post_init__(self) -> None:
        for name in ("duplicate_p", "reorder_p", "offline_p", "skewed_share", "garbage_p"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"GatewayFaults.{name} must be within 0..1, got {value}")
        if not 0.0 <= self.max_skew_s <= MAX_SKEW_AHEAD_S:
            raise ValueError(f"GatewayFaults.max_skew_s must be within 0..{MAX_SKEW_AHEAD_S:g} "
                             f"(beyond it ingest rejects readings as future), got {self.max_skew_s}")
        lo, hi = self.offline_rounds
        if not 1 <= lo <= hi:
            raise ValueError(f"GatewayFaults.offline_rounds must be (min, max) with 1 <= min <= max, got {self.offline_rounds}")
        if self.batch_rounds < 1:
            raise ValueError(f"GatewayFaults.batch_rounds must be >= 1, got {self.batch_rounds}")


@dataclass
class NetworkReport:
    """What the gateways sent, and every fault in it."""

    messages: int = 0
    #: readings that decode OK, every transmission counted (duplicates included)
    readings_sent: int = 0
    #: distinct (meter, ts) sent: what the history store should hold
    unique_readings: int = 0
    duplicated_messages: int = 0
    #: transmissions of a (meter, ts) already sent
    duplicated_readings: int = 0
    reordered_messages: int = 0
    #: first transmissions sent after a newer reading of the same meter
    reordered_readings: int = 0
    offline_spells: int = 0
    #: readings held while their gateway was offline, sent later
    buffered_readings: int = 0
    batched_messages: int = 0
    nbiot_uploads: int = 0
    skewed_gateways: int = 0
    skewed_readings: int = 0
    garbage_payloads: dict[str, int] = field(default_factory=dict)
    #: what ingest should reject, by reason (one item per garbage payload)
    expected_rejections: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class Message:
    topic: str
    payload: bytes
    gateway_id: str


@dataclass
class _Pending:
    meters: list[npt.NDArray[np.int64]] = field(default_factory=list)
    ts: list[npt.NDArray[np.float64]] = field(default_factory=list)
    values: list[npt.NDArray[np.float64]] = field(default_factory=list)
    rounds: int = 0

    def add(self, meters: npt.NDArray[np.int64], ts: npt.NDArray[np.float64], values: npt.NDArray[np.float64]) -> None:
        self.meters.append(meters)
        self.ts.append(ts)
        self.values.append(values)
        self.rounds += 1

    def take(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        out = (np.concatenate(self.meters), np.concatenate(self.ts), np.concatenate(self.values))
        self.meters, self.ts, self.values, self.rounds = [], [], [], 0
        return out


@dataclass(frozen=True)
class _Held:
    message: Message
    meters: npt.NDArray[np.int64]
    ts: npt.NDArray[np.float64]
    copies: int


def _number(x: float) -> float | int:
    return int(x) if float(x).is_integer() else float(x)


class GatewayNetwork:
    def __init__(self, registry: Registry, faults: GatewayFaults | None = None, seed: int = 0,
                 cadence: MeterCadence | None = None, utc_offset_hours: float = DEFAULT_UTC_OFFSET_HOURS) -> None:
        self.registry = registry
        self.faults = faults or GatewayFaults()
        self.report = NetworkReport()
        self._rng = np.random.default_rng([seed, _STREAM_NETWORK])
        n_gateways = len(registry.gateway_ids)
        self._topics = [readings_topic(g) for g in registry.gateway_ids]
        skewed = self._rng.random(n_gateways) < self.faults.skewed_share
        self._skew = np.where(skewed, np.round((2.0 * self._rng.random(n_gateways) - 1.0) * self.faults.max_skew_s), 0.0)
        self.report.skewed_gateways = int((self._skew != 0).sum())
        self._nbiot = cadence.nbiot if cadence is not None else np.zeros(registry.n_meters, dtype=bool)
        self._upload_hour = 6.0 * self._rng.random(registry.n_meters)
        self._offset_s = utc_offset_hours * HOUR
        self._next_upload = np.full(registry.n_meters, np.nan)
        self._nbiot_store: dict[int, _Pending] = {}
        self._pending = [_Pending() for _ in range(n_gateways)]
        self._offline_left = np.zeros(n_gateways, dtype=np.int64)
        self._held: list[_Held | None] = [None] * n_gateways
        self._newest = np.full(registry.n_meters, -np.inf)
        self._garbage: Counter[str] = Counter()
        self._rejections: Counter[str] = Counter()

    # -- rounds in, messages out ----------------------------------------------------
    def messages_for_round(self, rnd: Round) -> list[Message]:
        out: list[Message] = []
        batch = rnd.batch
        nbiot = self._nbiot[batch.meter]
        if nbiot.any():
            self._store_nbiot(batch.meter[nbiot], batch.ts[nbiot], batch.value[nbiot], rnd.ts)
            out.extend(self._nbiot_due(rnd.ts))
        meters, ts, values = batch.meter[~nbiot].astype(np.int64), batch.ts[~nbiot], batch.value[~nbiot]
        gateway = self.registry.meter_gateway[meters]
        order = np.argsort(gateway, kind="stable")
        bounds = np.searchsorted(gateway[order], np.arange(len(self._topics) + 1))
        f = self.faults
        for g in range(len(self._topics)):
            part = order[bounds[g]:bounds[g + 1]]
            if len(part):
                self._pending[g].add(meters[part], ts[part] + self._skew[g], values[part])
            if self._offline_left[g] > 0:
                self._offline_left[g] -= 1
                if len(part):
                    self.report.buffered_readings += len(part)
                continue
            if f.offline_p and self._rng.random() < f.offline_p:
                lo, hi = f.offline_rounds
                self._offline_left[g] = int(self._rng.integers(lo, hi + 1)) - 1
                self.report.offline_spells += 1
                if len(part):
                    self.report.buffered_readings += len(part)
                continue
            pending = self._pending[g]
            if pending.rounds >= f.batch_rounds:
                batched = pending.rounds > 1
                out.extend(self._send(g, *pending.take(), batched=batched))
            if f.garbage_p and self._rng.random() < f.garbage_p:
                out.append(self._garbage_message(g, rnd.ts))
        return out

    def flush(self) -> list[Message]:
        """Everything still held at the end of the run (batches, backlogs, NB-IoT stores)."""
        out: list[Message] = []
        for g, pending in enumerate(self._pending):
            if pending.rounds:
                batched = pending.rounds > 1
                out.extend(self._send(g, *pending.take(), batched=batched))
            out.extend(self._release(g))
        for m in sorted(self._nbiot_store):
            store = self._nbiot_store[m]
            if store.rounds:
                out.extend(self._send(int(self.registry.meter_gateway[m]), *store.take(), batched=False, nbiot=True))
        self.report.garbage_payloads = dict(sorted(self._garbage.items()))
        self.report.expected_rejections = dict(sorted(self._rejections.items()))
        return out

    # -- internals ------------------------------------------------------------------
    def _send(self, g: int, meters: npt.NDArray[np.int64], ts: npt.NDArray[np.float64],
              values: npt.NDArray[np.float64], *, batched: bool, nbiot: bool = False) -> list[Message]:
        if not len(meters):
            return []
        if batched:
            self.report.batched_messages += 1
        if nbiot:
            self.report.nbiot_uploads += 1
        self.report.skewed_readings += len(meters) if self._skew[g] else 0
        message = Message(self._topics[g], self._encode(meters, ts, values), self.registry.gateway_ids[g])
        f = self.faults
        copies = 2 if f.duplicate_p and self._rng.random() < f.duplicate_p else 1
        if not nbiot and f.reorder_p and self._held[g] is None and self._rng.random() < f.reorder_p:
            self._held[g] = _Held(message, meters, ts, copies)
            return []
        self._account(meters, ts, copies)
        out = [message] * copies
        if not nbiot:
            out.extend(self._release(g))
        return out

    def _release(self, g: int) -> list[Message]:
        """The held-back message of a gateway, sent now (after a newer one)."""
        held = self._held[g]
        if held is None:
            return []
        self._held[g] = None
        if self._account(held.meters, held.ts, held.copies):
            self.report.reordered_messages += 1
        return [held.message] * held.copies

    def _account(self, meters: npt.NDArray[np.int64], ts: npt.NDArray[np.float64], copies: int) -> int:
        """Count one message (sent ``copies`` times) in arrival order; returns its late readings."""
        n = len(meters)
        late = int((ts < self._newest[meters]).sum())
        np.maximum.at(self._newest, meters, ts)
        self.report.messages += copies
        self.report.readings_sent += n * copies
        self.report.unique_readings += n
        self.report.reordered_readings += late
        if copies > 1:
            self.report.duplicated_messages += copies - 1
            self.report.duplicated_readings += n * (copies - 1)
        return late

    def _encode(self, meters: npt.NDArray[np.int64], ts: npt.NDArray[np.float64], values: npt.NDArray[np.float64]) -> bytes:
        ids = self.registry.meter_ids[meters].tolist()
        vals = [round(float(v), 4) for v in values]
        one = len(ts) and bool((ts == ts[0]).all())
        stamp: object = _number(float(ts[0])) if one else [_number(float(t)) for t in ts]
        return orjson.dumps({"meters": ids, "ts": stamp, "values": vals})

    def _store_nbiot(self, meters: npt.NDArray[np.int32], ts: npt.NDArray[np.float64],
                     values: npt.NDArray[np.float64], now: float) -> None:
        for m, t, v in zip(meters.tolist(), ts.tolist(), values.tolist()):
            store = self._nbiot_store.setdefault(m, _Pending())
            store.add(np.array([m]), np.array([t]), np.array([v]))
            if np.isnan(self._next_upload[m]):
                self._next_upload[m] = self._upload_after(m, now)

    def _upload_after(self, m: int, now: float) -> float:
        local_midnight = np.floor((now + self._offset_s) / DAY) * DAY - self._offset_s
        t = local_midnight + self._upload_hour[m] * HOUR
        return t if t > now else t + DAY

    def _nbiot_due(self, now: float) -> list[Message]:
        due = np.flatnonzero(self._next_upload <= now)
        out: list[Message] = []
        for m in due.tolist():
            store = self._nbiot_store.get(m)
            if store is not None and store.rounds:
                g = int(self.registry.meter_gateway[m])
                meters, ts, values = store.take()
                out.extend(self._send(g, meters, ts + self._skew[g], values, batched=False, nbiot=True))
            self._next_upload[m] = self._upload_after(m, now + 1.0)
        return out

    def _garbage_message(self, g: int, now: float) -> Message:
        kind = GARBAGE_KINDS[int(self._rng.integers(len(GARBAGE_KINDS)))]
        own = np.flatnonzero(self.registry.meter_gateway == g)
        meter = str(self.registry.meter_ids[own[int(self._rng.integers(len(own)))]]) if len(own) else "X"
        ts = _number(now)
        payload = {
            "not_json": b"\x00\x13\xfe gateway firmware panic \xff",
            "truncated_json": orjson.dumps({"meters": [meter], "ts": ts, "values": [1.5]})[:-9],
            "bad_shape": orjson.dumps({"status": "ok", "uptime_s": 86400}),
            "unknown_meter": orjson.dumps({"meters": ["ZZ-NOT-A-METER"], "ts": ts, "values": [1.5]}),
            "bad_value": orjson.dumps({"meter": meter, "ts": ts, "value": -1.0}),
            "bad_timestamp": orjson.dumps({"meter": meter, "ts": "yesterday", "value": 1.5}),
        }[kind]
        self._garbage[kind] += 1
        self._rejections[GARBAGE_REASONS[kind]] += 1
        self.report.messages += 1
        return Message(self._topics[g], payload, self.registry.gateway_ids[g])


__all__ = ["GARBAGE_KINDS", "GARBAGE_REASONS", "GatewayFaults", "GatewayNetwork", "Message", "NetworkReport"]
