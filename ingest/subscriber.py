"""MQTT → history store → sinks, with the broker ack sent only after the durable write.

The paho network thread does as little as possible: ``on_message`` puts the message
in the :class:`Inbox` (a plain tuple on a list; a per-message queue hand-off halved
paho's throughput). One worker thread takes a batch from it, decodes every message
(the small ones in one pass, :mod:`ingest.fastpath`), writes the good readings of
all of them as one columnar batch, hands the batch to the sinks (the detector
state), and only then acks the messages to the broker, every PUBACK in one write.
A crash anywhere before the ack leaves the messages unacked in our persistent
session, so the broker delivers them again: at-least-once. :class:`SeenReadings` filters
what was stored before, so a redelivery writes nothing twice and is counted.

When the history store is unreachable, batches go to the on-disk :class:`Spool`
(as durable, so acking may follow and detection goes on); a full spool stops
the acks (back-pressure: the broker holds the rest). The worker drains the
spool into the store once it answers again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import orjson
import paho.mqtt.client as mqtt

from ingest.counters import IngestCounters
from ingest.deadletters import DeadLetterLimits, DeadLetterOffice
from ingest.decode import ReadingDecoder
from ingest.deliveries import decode_messages, too_fast_reports
from ingest.fastpath import FastPass
from ingest.faults import fault_point_from
from ingest.heap import give_back_memory
from ingest.inbox import Delivery, Inbox
from ingest.keeper import Keeper
from ingest.seen import SeenReadings
from ingest.spool import Spool
from ingest.window import DurabilityWindow
from lifesign.clock import Clock
from lifesign.mqttclient import BrokerSettings, ack_qos1, connect_and_wait, make_client
from lifesign.readings import ReadingBatch, ReadingSink
from lifesign.retry import Backoff
from lifesign.stores import HistoryStore
from lifesign.wire import FLAGGED_TOPIC, READINGS_SUBSCRIPTION

log = logging.getLogger(__name__)

#: wait between attempts to store a failed batch (wall seconds, not event time)
_STORE_RETRY = Backoff(base_s=0.2, max_s=30.0)
#: register resets listed in one flagged message (the count is always complete)
_MAX_FLAGS_PER_MESSAGE = 1000
#: payload bytes in one batch, at most (one message more if it alone is larger)
_MAX_BATCH_BYTES = 8 * 1024 * 1024
#: messages in one batch, at most
MAX_BATCH_MESSAGES = 1000
#: received messages, and their payload bytes, waiting for the worker by default (site.yaml: ingest)
MAX_PENDING_MESSAGES = 2000
MAX_PENDING_BYTES = 64 * 1024 * 1024
#: after a batch this large, freed memory goes back to the OS (see ingest.heap)
_TRIM_AFTER_BYTES = 4 * 1024 * 1024
#: how long start() waits for the broker's CONNACK
_CONNACK_TIMEOUT_S = 10.0

class MqttIngestor:
    """Subscribes to every gateway's readings topic and feeds the store and the sinks.

    Runs once: ``start()``, then ``stop()``; to run again, build a new one with the
    same ``broker.client_id`` and it picks up the broker's session.

    At most ``max_pending_messages`` received messages wait for the worker: past that,
    paho's network thread waits in ``on_message``, so nothing more is read from the
    socket and the broker holds the rest (QoS 1 messages stay in our session). The
    cap is above the broker's in-flight window (1000 in configs/mosquitto.conf), so
    with QoS 1 the broker stops first and the network thread rarely waits.
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
        max_batch_messages: int = MAX_BATCH_MESSAGES,
        max_pending_messages: int = MAX_PENDING_MESSAGES,
        max_pending_bytes: int = MAX_PENDING_BYTES,
        spool: Spool | None = None,
        seen: SeenReadings | None = None,
        dead_letter_limits: DeadLetterLimits | None = None,
        store_up: bool = True,
        window: DurabilityWindow | None = None,
        topics: Sequence[str] = (READINGS_SUBSCRIPTION,),
    ) -> None:
        """``topics``: the readings topic filters to subscribe to (a partition's gateways)."""
        if not topics:
            raise ValueError("topics must name at least one readings topic filter")
        self._inbox = Inbox(max_batch_messages, max_pending_messages, max_pending_bytes, _MAX_BATCH_BYTES)
        self._broker = broker
        self._topics = tuple(topics)
        self._decoder = decoder
        self._fast = FastPass(decoder)
        self._sinks = tuple(sinks)
        self._clock = clock
        #: the caps it runs with (site.yaml: ingest.max_pending_messages, ingest.max_pending_mb)
        self.max_pending_messages = max_pending_messages
        self.max_pending_bytes = max_pending_bytes
        self.counters = counters or IngestCounters()
        self.keeper = Keeper(store, spool, self.counters, store_up=store_up, window=window)
        registry = decoder.registry
        self.seen = seen or SeenReadings(registry.n_meters, interval=registry.meter_interval,
                                         max_per_s=decoder.policy.max_rate.per_second(registry.meter_utility))
        # crash tests name a point to die at (LIFESIGN_FAULT, see ingest/faults.py); inert when unset
        self._fault = fault_point_from()

        self._client = client_factory() if client_factory is not None else self._new_client()
        # Even an injected client must not ack on receipt: the ack is ours to send.
        self._client.manual_ack_set(True)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message
        self.dead_letters = DeadLetterOffice(self._publish_dead_letter, self.counters, registry.gateway_index,
                                             dead_letter_limits)

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
        """Connect, start paho's network thread and the worker.

        Raises ConnectionError (an OSError) naming the cause when the broker cannot be
        reached, TLS fails, or the broker refuses us (BrokerRefusedError: wrong
        credentials, not authorised): running on without a broker would store nothing.
        """
        if self._worker is not None:
            raise RuntimeError(f"ingestor {self._broker.client_id!r} is already started")
        self._worker = threading.Thread(
            target=self._run, name=f"ingest-{self._broker.client_id}", daemon=True
        )
        self._worker.start()
        try:
            connect_and_wait(self._client, self._broker, persistent=True, timeout=_CONNACK_TIMEOUT_S)
        except OSError:
            self._stop_worker()
            raise

    def wait_subscribed(self, timeout: float | None = None) -> bool:
        """True once the broker has granted the readings subscription."""
        return self._subscribed.wait(timeout)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """True when no received message is waiting or being processed.

        It knows only what has reached this process: a message still on its way
        through the broker does not count. To wait for N published messages,
        watch ``counters.messages_acked``.
        """
        return self._inbox.wait_idle(timeout)

    def stop(self) -> None:
        """Finish the batch in hand, then disconnect.

        Messages received but not yet taken are left unacked: the broker keeps
        them in our session and delivers them again on the next start.
        """
        self._stop_worker()
        self._client.disconnect()
        self._client.loop_stop()

    def _stop_worker(self) -> None:
        self._inbox.stop()
        if self._worker is not None:
            self._worker.join()
        self._inbox.clear()

    # -- paho callbacks (network thread): keep them trivial ------------------
    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any, properties: Any
    ) -> None:
        if reason_code.is_failure:
            self.counters.add(broker_disconnects=1)
            self.counters.set(broker_connected=0)
            log.error(
                "broker %s:%s refused the connection: %s",
                self._broker.host,
                self._broker.port,
                reason_code,
            )
            return
        with self._connection_lock:
            self._connection += 1
        self.counters.set(broker_connected=1)
        # Subscribing on every connect re-creates the subscription if the broker lost our session.
        # One SUBSCRIBE for all filters: a partition's thousand gateways are one packet.
        client.subscribe([(topic, 1) for topic in self._topics])

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any, properties: Any
    ) -> None:
        with self._connection_lock:
            self._connection += 1
        self.counters.set(broker_connected=0)
        if reason_code.is_failure:
            self.counters.add(broker_disconnects=1)
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
            refused = [t for t, code in zip(self._topics, reason_codes) if code.is_failure]
            log.error("broker refused the subscription to %s: %s", ", ".join(refused[:5]), reason_codes[:5])
            return
        self._subscribed.set()

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        self._inbox.put((message.topic, message.payload, message.mid, message.qos, self._connection))

    # -- worker -------------------------------------------------------------
    def _run(self) -> None:
        inbox = self._inbox
        while True:
            took = inbox.take(self.keeper.drain_wait())
            if took is None:
                return
            taken, taken_bytes = took
            self.counters.set(pending_messages=len(inbox), pending_max=inbox.longest)
            try:
                if taken:
                    self._process(taken)
                    del taken[:]  # the payloads go before the memory is given back
                    if taken_bytes >= _TRIM_AFTER_BYTES:
                        give_back_memory()
                self.keeper.drain_some()
            except Exception:  # the worker must outlive any bug; unacked messages come back
                log.exception(
                    "ingest worker failed on a batch of %d messages; they stay unacked", len(taken)
                )
            finally:
                inbox.done()

    def _process(self, taken: list[Delivery]) -> None:
        now = self._clock.now()
        batch, refused = decode_messages(self._fast, [d[0] for d in taken], [d[1] for d in taken], now)
        sorted_ = self.seen.sort(batch)
        new = sorted_.new
        if len(sorted_.implausible):
            refused.extend(too_fast_reports(self._decoder, sorted_.implausible, sorted_.implausible_rate))

        attempt = 0
        while True:
            try:
                self._fault("before_store_write")
                self.keeper.keep(new)
                self._fault("after_store_write")
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
                if self._inbox.stop_requested_within(_STORE_RETRY.delay(attempt)):
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
        for gateway, topic, tally in refused:
            self.dead_letters.report(gateway, topic, tally, now)
        self._fault("before_ack")
        self._ack(taken)
        self._fault("after_ack")

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

    def _publish_dead_letter(self, topic: str, payload: bytes) -> None:
        self._client.publish(topic, payload, qos=1)

    def _ack(self, taken: list[Delivery]) -> None:
        with self._connection_lock:
            # A message from an earlier connection is being delivered again on this one
            # (persistent session); its old id may now name another message, so acking
            # it could ack readings we have not stored.
            connection = self._connection
            mids = [mid for _, _, mid, qos, on in taken if qos == 1 and on == connection]
            ack_qos1(self._client, mids)
            others = [(mid, qos) for _, _, mid, qos, on in taken if qos > 1 and on == connection]
            for mid, qos in others:
                self._client.ack(mid, qos)
        self.counters.add(messages_acked=len(mids) + len(others))
