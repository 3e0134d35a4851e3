"""The hand-off between paho's network thread and the ingest worker: received messages
wait here, capped, and the worker takes them in batches.

paho's thread calls :meth:`Inbox.put` once per message and does nothing else, because
the worker waits on it for the GIL: every line there costs ingest throughput. Past the
cap, ``put`` holds paho's thread, so it reads no more from the socket and the broker
keeps the rest (QoS 1 messages stay in our session). The worker takes up to a batch,
after lingering while a stream keeps coming: a batch costs a store write and a state
update whatever its size.

Times are wall seconds on the monotonic clock, not event time.
"""

from __future__ import annotations

import threading
import time

#: a received message: (topic, payload, mid, qos, connection), the connection it arrived
#: on because a message id means nothing on another one. A plain tuple of plain values:
#: the least paho's thread can build per message, and nothing for the garbage collector
#: to follow (holding paho's message objects instead, a Condition each, tripled the
#: full collections while messages wait)
Delivery = tuple[str, bytes | bytearray, int, int, int]

#: the worker lingers in steps while messages keep coming, and stops at the first step
#: that brings none (a lone message, the end of a burst, the broker's in-flight window full)
LINGER_STEP_S = 0.0025
#: and at most this long, or until a full batch
LINGER_MAX_S = 0.020


class Inbox:
    def __init__(self, max_batch: int, max_messages: int, max_bytes: int, max_batch_bytes: int) -> None:
        """``max_batch`` messages and about ``max_batch_bytes`` of payload in one batch;
        ``max_messages`` and ``max_bytes`` waiting at most (one message always fits)."""
        if max_batch < 1:
            raise ValueError(f"max_batch_messages must be >= 1, got {max_batch}")
        if max_messages < max_batch:
            raise ValueError(f"max_pending_messages must be >= max_batch_messages ({max_batch}), got {max_messages}")
        self.max_batch = max_batch
        self.max_messages = max_messages
        self.max_bytes = max_bytes
        self.max_batch_bytes = max_batch_bytes
        # One lock under three conditions; paho's thread takes the bare lock (cheaper).
        self._lock = threading.Lock()
        self._ready = threading.Condition(self._lock)
        self._idle = threading.Condition(self._lock)
        self._room = threading.Condition(self._lock)
        self._pending: list[Delivery] = []
        self._bytes = 0
        self._in_process = 0
        self.stopping = False
        #: the most messages that ever waited at once (never above the cap)
        self.longest = 0

    def __len__(self) -> int:
        return len(self._pending)

    def put(self, delivery: Delivery) -> None:
        """Called by paho's thread for each message; waits while the inbox is full."""
        with self._lock:
            pending = self._pending
            if pending and (len(pending) >= self.max_messages or self._bytes >= self.max_bytes):
                # The worker frees room batch by batch.
                self._room.wait_for(lambda: self._has_room() or self.stopping)
                if self.stopping:
                    return  # unacked: the broker sends it again next time
            pending.append(delivery)
            self._bytes += len(delivery[1])
            if len(pending) == 1 or len(pending) == self.max_batch:  # the worker waits for the first,
                self._ready.notify()  # and lingers for a full batch

    def _has_room(self) -> bool:
        # an empty list always takes one message, however large (the broker bounds its size)
        return not self._pending or (len(self._pending) < self.max_messages and self._bytes < self.max_bytes)

    def take(self, wait_s: float | None) -> tuple[list[Delivery], int] | None:
        """The next batch and its payload bytes, for the worker: waits up to ``wait_s``
        (None: until a message comes) and returns an empty batch if none came; None
        once stopping. Call :meth:`done` after processing it."""
        with self._lock:
            if not self._pending and not self.stopping:
                self._ready.wait(timeout=wait_s)
            if 0 < len(self._pending) < self.max_batch and not self.stopping:
                self._linger()
            if self.stopping:
                return None
            # the list only grows between takes, so its longest is now
            self.longest = max(self.longest, len(self._pending))
            n, taken_bytes = self._batch_size()
            taken = self._pending[:n]
            del self._pending[:n]
            self._bytes -= taken_bytes
            self._room.notify()
            self._in_process = len(taken)
            return taken, taken_bytes

    def _linger(self) -> None:
        """Wait, holding the lock, while messages keep coming. paho's thread waits for the
        GIL while the worker runs, so small batches under a stream cost a third of the
        throughput; a pause in the stream ends the wait at once."""
        deadline = time.monotonic() + LINGER_MAX_S
        waiting = len(self._pending)
        while True:
            self._ready.wait(timeout=LINGER_STEP_S)
            now_waiting = len(self._pending)
            if (self.stopping or now_waiting == waiting or now_waiting >= self.max_batch
                    or time.monotonic() >= deadline):
                return
            waiting = now_waiting

    def _batch_size(self) -> tuple[int, int]:
        """(messages, payload bytes): up to max_batch, and about max_batch_bytes of payload."""
        total = 0
        for n, delivery in enumerate(self._pending[: self.max_batch]):
            size = len(delivery[1])
            if total + size > self.max_batch_bytes and n:
                return n, total
            total += size
        return min(len(self._pending), self.max_batch), total

    def done(self) -> None:
        """The worker finished the batch it took."""
        with self._lock:
            self._in_process = 0
            self._idle.notify_all()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """True when no message waits or is being processed."""
        with self._lock:
            return self._idle.wait_for(lambda: not self._pending and self._in_process == 0, timeout)

    def stop(self) -> None:
        """Wake the worker and paho's thread: no more batches, nothing more waits for room."""
        with self._lock:
            self.stopping = True
            self._ready.notify_all()
            self._room.notify_all()

    def stop_requested_within(self, seconds: float) -> bool:
        with self._lock:
            return self._ready.wait_for(lambda: self.stopping, seconds)

    def clear(self) -> None:
        """Forget what waits (after the worker stopped: unacked, the broker sends it again)."""
        with self._lock:
            self._pending.clear()
            self._bytes = 0
            self._idle.notify_all()
