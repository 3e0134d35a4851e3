"""MQTT → history store → sinks, with the broker ack sent only after the durable write.

The paho network thread does as little as possible: ``on_message`` appends the
message to a list (a per-message queue hand-off halves paho's throughput). One
worker thread takes the whole list, decodes every message, writes the good
readings of all of them as one columnar batch, hands the batch to the sinks
(the detector state), and only then acks the messages to the broker. A crash
anywhere before the ack leaves the messages unacked in our persistent session,
so the broker delivers them again: at-least-once. :class:`SeenReadings` filters
what was stored before, so a redelivery writes nothing twice and is counted.

When the history store is unreachable, batches go to the on-disk :class:`Spool`
(as durable, so acking may follow and detection goes on); a full spool stops
the acks (back-pressure: the broker holds the rest). The worker drains the
spool into the store once it answers again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np
import orjson
import paho.mqtt.client as mqtt

from ingest.counters import IngestCounters
from ingest.decode import BatchBuilder, ReadingDecoder, Reason, Rejection, encode_rejection, excerpt
from ingest.seen import SeenReadings
from ingest.spool import Spool, SpoolFull
from lifesign.clock import Clock
from lifesign.mqttclient import BrokerSettings, connect, make_client
from lifesign.readings import ReadingBatch, ReadingSink
from lifesign.retry import Backoff
from lifesign.stores import HistoryStore
from lifesign.wire import FLAGGED_TOPIC, READINGS_SUBSCRIPTION, gateway_of, rejected_topic

log = logging.getLogger(__name__)

#: dead-letter "gateway" for a message whose topic names none
UNKNOWN_GATEWAY = "_unknown"


#: wait between attempts to store a failed batch (wall seconds, not event time)
_STORE_RETRY = Backoff(base_s=0.2, max_s=30.0)
#: how long the worker waits for a fuller batch (wall seconds): throughput for a little latency
_LINGER_S = 0.005
#: register resets listed in one flagged message (the count is always complete)
_MAX_FLAGS_PER_MESSAGE = 1000
#: how often a spool backlog probes a store that is down (wall seconds)
_DRAIN_RETRY = Backoff(base_s=0.2, max_s=5.0)

class _Delivery(NamedTuple):
    topic: str
    payload: bytes
    mid: int
    qos: int
    #: the connection it arrived on: a message id means nothing on another connection
    connection: int



class MqttIngestor:
    """Subscribes to every gateway's readings topic and feeds the store and the sinks.

    Runs once: ``start()``, then ``stop()``; to run again, build a new one with the
    same ``broker.client_id`` and it picks up the broker's session.
    """

    def __init__(
        self,
        broker: BrokerSettings,
        decoder: ReadingDecoder,
        store: HistoryStore,
        sinks: Sequence[ReadingSink],
        clock: Clock,
        *,
        client_factory: Callable[[], mqtt.Client] | None = None,
        counters: IngestCounters | None = None,
        max_batch_messages: int = 1000,
        spool: Spool | None = None,
        seen: SeenReadings | None = None,
    ) -> None:
        if max_batch_messages < 1:
            raise ValueError(f"max_batch_messages must be >= 1, got {max_batch_messages}")
        self._broker = broker
        self._decoder = decoder
        self._store = store
        self._sinks = tuple(sinks)
        self._clock = clock
        self._max_batch = max_batch_messages
        self.counters = counters or IngestCounters()
        self._spool = spool
        registry = decoder.registry
        self.seen = seen or SeenReadings(registry.n_meters, interval=registry.meter_interval,
                                         max_per_s=decoder.policy.max_rate.per_second(registry.meter_utility))
        self._store_up = True
        self._drain_at = 0.0
        #: consecutive failed probes of the store while the spool holds a backlog
        self._drain_failures = 0

        self._client = client_factory() if client_factory is not None else self._new_client()
        # Even an injected client must not ack on receipt: the ack is ours to send.
        self._client.manual_ack_set(True)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message

        lock = threading.Lock()
        self._work_ready = threading.Condition(lock)
        self._idle = threading.Condition(lock)
        self._pending: list[_Delivery] = []
        self._in_process = 0
        self._stopping = False
        self._worker: threading.Thread | None = None
        self._subscribed = threading.Event()
        # Guards the connection number against on_disconnect while the worker acks.
        self._connection_lock = threading.Lock()
        self._connection = 0

    def _new_client(self) -> mqtt.Client:
        # A fixed client id and a persistent session make the broker keep our
        # subscription and the unacked messages while we restart. MQTT 3.1.1 by
        # default: paho receives about twice as fast as with MQTT 5.
        return make_client(self._broker, self._broker.client_id, persistent=True, manual_ack=True)

    def prime(self, stored: ReadingBatch) -> None:
        """Tell the duplicate filter what the store already holds (at start)."""
        self.seen.commit(stored)
        if len(stored):
            self.counters.raise_to(newest_reading_ts=float(stored.ts.max()))

    # -- lifecycle ----------------------------------------------------------
    def start(self) -> None:
        """Connect, start paho's network thread and the worker."""
        if self._worker is not None:
            raise RuntimeError(f"ingestor {self._broker.client_id!r} is already started")
        self._worker = threading.Thread(
            target=self._run, name=f"ingest-{self._broker.client_id}", daemon=True
        )
        self._worker.start()
        try:
            connect(self._client, self._broker, persistent=True)
        except OSError as exc:
            self._stop_worker()
            raise ConnectionError(
                f"broker.host:port {self._broker.host}:{self._broker.port} does not accept MQTT connections: {exc}"
            ) from exc
        self._client.loop_start()

    def wait_subscribed(self, timeout: float | None = None) -> bool:
        """True once the broker has granted the readings subscription."""
        return self._subscribed.wait(timeout)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """True when no received message is waiting or being processed.

        It knows only what has reached this process: a message still on its way
        through the broker does not count. To wait for N published messages,
        watch ``counters.messages_acked``.
        """
        with self._idle:
            return self._idle.wait_for(lambda: not self._pending and self._in_process == 0, timeout)

    def stop(self) -> None:
        """Finish the batch in hand, then disconnect.

        Messages received but not yet taken are left unacked: the broker keeps
        them in our session and delivers them again on the next start.
        """
        self._stop_worker()
        self._client.disconnect()
        self._client.loop_stop()

    def _stop_requested_within(self, seconds: float) -> bool:
        with self._work_ready:
            return self._work_ready.wait_for(lambda: self._stopping, seconds)

    def _stop_worker(self) -> None:
        with self._work_ready:
            self._stopping = True
            self._work_ready.notify_all()
        if self._worker is not None:
            self._worker.join()
        with self._idle:
            self._pending.clear()
            self._idle.notify_all()

    # -- paho callbacks (network thread): keep them trivial ------------------
    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any, properties: Any
    ) -> None:
        if reason_code.is_failure:
            log.warning(
                "broker %s:%s refused the connection: %s",
                self._broker.host,
                self._broker.port,
                reason_code,
            )
            return
        with self._connection_lock:
            self._connection += 1
        # Subscribing on every connect re-creates the subscription if the broker lost our session.
        client.subscribe(READINGS_SUBSCRIPTION, qos=1)

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any, properties: Any
    ) -> None:
        with self._connection_lock:
            self._connection += 1
        if reason_code.is_failure:
            log.warning(
                "lost the broker at %s:%s (%s); paho reconnects",
                self._broker.host,
                self._broker.port,
                reason_code,
            )

    def _on_subscribe(
        self, client: mqtt.Client, userdata: Any, mid: int, reason_codes: Any, properties: Any
    ) -> None:
        if any(code.is_failure for code in reason_codes):
            log.error(
                "broker refused the subscription to %s: %s", READINGS_SUBSCRIPTION, reason_codes
            )
            return
        self._subscribed.set()

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        payload = message.payload  # bytes from paho; no copy
        delivery = _Delivery(message.topic, payload if type(payload) is bytes else bytes(payload), message.mid,
                             message.qos, self._connection)
        with self._work_ready:
            self._pending.append(delivery)
            if len(self._pending) == 1:  # the worker waits only on an empty list
                self._work_ready.notify()

    # -- worker -------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._work_ready:
                if not self._pending and not self._stopping:
                    self._work_ready.wait(timeout=self._drain_wait())
                if 0 < len(self._pending) < self._max_batch and not self._stopping:
                    # Linger a moment for more: a batch costs a store write and a state
                    # update whatever its size, so one-message batches would halve throughput.
                    self._work_ready.wait(timeout=_LINGER_S)
                if self._stopping:
                    return
                taken = self._pending[: self._max_batch]
                del self._pending[: self._max_batch]
                self._in_process = len(taken)
                self.counters.set(pending_messages=len(self._pending))
            try:
                if taken:
                    self._process(taken)
                self._drain_some()
            except Exception:  # the worker must outlive any bug; unacked messages come back
                log.exception(
                    "ingest worker failed on a batch of %d messages; they stay unacked", len(taken)
                )
            finally:
                with self._idle:
                    self._in_process = 0
                    self._idle.notify_all()

    # -- store, spool, drain ----------------------------------------------------
    def _drain_wait(self) -> float | None:
        if self._spool is None or len(self._spool) == 0:
            return None
        return max(0.0, self._drain_at - time.monotonic())

    def _drain_some(self) -> None:
        """Move one spool file into the store, if the store answers (probing with backoff)."""
        spool = self._spool
        if spool is None or len(spool) == 0 or time.monotonic() < self._drain_at:
            return
        try:
            moved = spool.drain_one(self._store)
        except OSError as exc:
            self._store_down(exc)
            return
        self._store_up = True
        self._drain_failures = 0
        self.counters.add(drained=moved)
        self.counters.set(store_up=1, spool_readings=len(spool), spool_bytes=spool.bytes)
        if len(spool) == 0:
            log.info("spool drained: the history store has every reading again")

    def _store_down(self, exc: OSError) -> None:
        if self._store_up:
            log.error("history store unreachable (%s); spooling to disk", exc)
        self._store_up = False
        self.counters.set(store_up=0)
        self._drain_failures += 1
        self._drain_at = time.monotonic() + _DRAIN_RETRY.delay(self._drain_failures)

    def _keep(self, batch: ReadingBatch) -> None:
        """Make the batch durable: in the store, or in the spool while the store is down."""
        if len(batch) == 0:
            return
        spool = self._spool
        if spool is None:
            self._store.write(batch)  # an error here means: retry, ack nothing
            return
        if self._store_up:
            try:
                self._store.write(batch)
                return
            except OSError as exc:
                self._store_down(exc)
        try:
            spool.append(batch)
        except SpoolFull:
            self._drain_at = 0.0  # make room if the store is back; else back-pressure
            self._drain_some()
            spool.append(batch)
        self.counters.add(spooled=len(batch))
        self.counters.set(spool_readings=len(spool), spool_bytes=spool.bytes)

    def _process(self, taken: list[_Delivery]) -> None:
        builder = BatchBuilder()
        now = self._clock.now()
        rejections: list[tuple[str, Rejection]] = []
        for delivery in taken:
            gateway = gateway_of(delivery.topic)
            if gateway is None:
                rejections.append(
                    (
                        UNKNOWN_GATEWAY,
                        Rejection(
                            Reason.BAD_SHAPE,
                            f"topic {delivery.topic!r} is not a readings topic (expected {READINGS_SUBSCRIPTION})",
                            excerpt(delivery.payload),
                        ),
                    )
                )
                continue
            try:
                decoded = self._decoder.decode(delivery.payload, gateway, now, builder)
            except (
                Exception
            ) as exc:  # a decoder bug: dead-letter the payload rather than loop on it forever
                log.exception("decoder failed on a message from gateway %s", gateway)
                rejections.append(
                    (
                        gateway,
                        Rejection(
                            Reason.BAD_SHAPE, f"decoder failed: {exc!r}", excerpt(delivery.payload)
                        ),
                    )
                )
                continue
            if decoded.rejections:
                rejections.extend((gateway, rejection) for rejection in decoded.rejections)
        batch = builder.build()
        sorted_ = self.seen.sort(batch)
        new = sorted_.new
        if len(sorted_.implausible):
            rejections.extend(self._decoder.too_fast(sorted_.implausible, sorted_.implausible_rate))

        attempt = 0
        while True:
            try:
                self._keep(new)
                for sink in self._sinks:
                    sink.observe(new)
                break
            except Exception:
                # Retry the batch in hand, with backoff, and ack nothing meanwhile: the
                # broker stops sending once its in-flight window is full (back-pressure,
                # not loss). On stop the messages stay unacked in our session and come
                # again on the next start. A sink that saw part of the batch sees it
                # again: the stores keep one point per key and detector updates are
                # idempotent per reading.
                attempt += 1
                log.exception(
                    "keeping a batch of %d readings failed (attempt %d); %d messages stay unacked",
                    len(new), attempt, len(taken),
                )
                self.counters.add(failed_batches=1)
                if self._stop_requested_within(_STORE_RETRY.delay(attempt)):
                    return
        self.seen.commit(new)
        self.counters.add(
            messages_received=len(taken), readings_received=len(batch), readings_stored=len(new),
            duplicates=sorted_.duplicates, late=sorted_.late, register_resets=len(sorted_.resets),
        )
        if len(new):
            # a slow gateway's batch never moves the newest time back (the lag gauge would flap)
            self.counters.raise_to(newest_reading_ts=float(self.seen.newest_ts[new.meter].max()))
        if len(sorted_.resets):
            self._flag_resets(new, sorted_.resets)
        if rejections:
            self._dead_letter(rejections)
        self._ack(taken)

    def _flag_resets(self, new: ReadingBatch, resets: np.ndarray) -> None:
        """Registers that went backwards (rollover, replaced meter): the detector re-baselines
        on them (a drop is never usage); operators see them in the log and on the flagged
        topic. One line and one message per batch: a broken gateway must not flood either."""
        registry = self._decoder.registry
        flagged = [{"meter": str(registry.meter_ids[int(new.meter[i])]), "ts": float(new.ts[i]),
                    "value": float(new.value[i])} for i in resets[:_MAX_FLAGS_PER_MESSAGE].tolist()]
        sample = ", ".join(f"{f['meter']}→{f['value']:g}" for f in flagged[:5])
        log.warning("%d meter registers went backwards (rollover or replaced meter), re-baselined: %s%s",
                    len(resets), sample, ", ..." if len(resets) > 5 else "")
        self._client.publish(FLAGGED_TOPIC, orjson.dumps(
            {"flag": "register_reset", "count": len(resets), "readings": flagged}), qos=1)

    def _dead_letter(self, rejections: list[tuple[str, Rejection]]) -> None:
        self.counters.reject_many(Counter(rejection.reason for _, rejection in rejections))
        at = self._clock.now()
        for gateway, rejection in rejections:
            log.debug("rejected from %s: %s %s", gateway, rejection.reason, rejection.detail)
            self._client.publish(
                rejected_topic(gateway), encode_rejection(gateway, rejection, at), qos=1
            )

    def _ack(self, taken: list[_Delivery]) -> None:
        acked = 0
        with self._connection_lock:
            for delivery in taken:
                # A message from an earlier connection is being delivered again on
                # this one (persistent session); its old id may now name another
                # message, so acking it could ack readings we have not stored.
                if delivery.connection != self._connection or delivery.qos == 0:
                    continue
                self._client.ack(delivery.mid, delivery.qos)
                acked += 1
        self.counters.add(messages_acked=acked)
