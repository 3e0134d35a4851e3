"""`lifesign run --partition NAME`: stand by until the partition's lease is free, take it
over, keep it, and let go of everything the moment it cannot be kept.

Taking over is the restart path every instance has: the service rebuilds its detector
state from the shared history store, then connects to the broker with the partition's
client id and persistent session, so the broker hands it what queued while nobody
held the partition. Readings acknowledged by the last holder are in the history store
(ack after durable); the rest come again; the duplicate filter, primed from the store,
drops what was stored but not acknowledged.

Fencing: a holder that has not renewed by its own deadline stops ingest first (it lets
go of the client id the new holder connects with), then dispatch, and stands by again.
A stop that hangs (a store that does not answer) ends the process instead: nothing is
lost by that either, what was not acknowledged comes again.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from app.ingest_wiring import STATUS_FILE
from app.leases import UNREACHABLE, LeaseRecord, PartitionLeases, Takeover
from app.messages import Messages
from app.partitions import PartitionSettings
from app.service import Service

log = logging.getLogger("lifesign.standby")

#: the exit code of a process whose fencing stop hung (systemd's Restart= starts it again)
FENCE_HUNG_EXIT = 75


class LeaseKeeper:
    """Renews a held lease every ``lease_s / 3`` in its own thread. ``expired()`` turns true
    at the holder's own deadline, however long a renewal hangs."""

    def __init__(self, leases: PartitionLeases, partition: PartitionSettings, holder: str,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._leases = leases
        self._partition = partition
        self._holder = holder
        self._monotonic = monotonic
        self._deadline = 0.0
        self._lost_reason = ""
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, asked_at: float) -> None:
        """``asked_at``: our monotonic time just before the acquiring request was sent."""
        self._deadline = asked_at + self._partition.lease_s
        self._thread = threading.Thread(target=self._loop, name=f"lease-{self._partition.name}", daemon=True)
        self._thread.start()

    def expired(self) -> bool:
        return bool(self._lost_reason) or self._monotonic() >= self._deadline

    @property
    def reason(self) -> str:
        return self._lost_reason or f"not renewed within {self._partition.lease_s:g} s"

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=self._partition.lease_s)

    def _loop(self) -> None:
        period = self._partition.lease_s / 3
        while not self._stopping.wait(period):
            asked_at = self._monotonic()
            try:
                renewed = self._leases.renew(self._partition.name, self._holder, self._partition.lease_s)
            except UNREACHABLE as exc:  # PostgreSQL away: try again until our deadline
                log.warning("lease of partition %s not renewed (%s); trying again", self._partition.name, exc)
                continue
            if not renewed:
                self._lost_reason = "the lease lapsed and another instance may hold it"
                return
            self._deadline = asked_at + self._partition.lease_s


class Standby:
    """One partition's instance: standby, holder, standby again, until ``stop`` is set."""

    def __init__(self, leases: PartitionLeases, partition: PartitionSettings, holder: str, data_dir: Path,
                 out: TextIO, say: Messages, *, make_service: Callable[[], Service],
                 on_running: Callable[[Service], None]) -> None:
        self.leases = leases
        self.partition = partition
        self.holder = holder
        self.data_dir = data_dir
        self.out = out
        self.say = say
        self._make_service = make_service
        self._on_running = on_running
        #: how often a standby asks for the lease: a lapsed lease is taken within this
        self.poll_s = min(1.0, max(0.1, partition.lease_s / 10))

    def run(self, stop: threading.Event) -> int:
        while True:
            takeover, asked_at = self._wait_for_lease(stop)
            if takeover is None:
                return 0
            keeper = LeaseKeeper(self.leases, self.partition, self.holder)
            keeper.start(asked_at)
            try:
                self._hold(takeover, keeper, stop)
            except BaseException:
                # a holder that could not start (broker refused, store unreachable) lets go at
                # once: a standby elsewhere may do better than waiting out the lease
                keeper.stop()
                self._release()
                raise
            keeper.stop()
            if stop.is_set():
                self._release()
                return 0
            self._say(self.say("standby.lost", partition=self.partition.name, reason=keeper.reason))

    def _hold(self, takeover: Takeover, keeper: LeaseKeeper, stop: threading.Event) -> None:
        """Build and run the service until ``stop`` or the lease is lost; then stop it."""
        took = time.monotonic()
        service = self._make_service()
        service.status_extra = {"partition": {"name": self.partition.name, "holder": self.holder,
                                              "epoch": takeover.record.epoch}}
        try:
            replayed = service.start()
            self._say(self.say("standby.took_over", partition=self.partition.name, epoch=takeover.record.epoch,
                               source=self._from_whom(takeover), readings=replayed,
                               seconds=time.monotonic() - took))
            self._on_running(service)
            while not stop.wait(0.1) and not keeper.expired():
                pass
        except BaseException:
            service.stop()
            raise
        if stop.is_set():
            service.stop()
        else:
            log.error("partition %s: %s; stopping ingest and dispatch", self.partition.name, keeper.reason)
            _fence(service.stop, self.partition.lease_s)

    def _wait_for_lease(self, stop: threading.Event) -> tuple[Takeover | None, float]:
        announced = False
        while not stop.is_set():
            asked_at = time.monotonic()
            try:
                takeover = self.leases.acquire(self.partition.name, self.holder, self.partition.lease_s)
            except UNREACHABLE as exc:  # PostgreSQL away: nobody can take the partition; keep asking
                log.warning("partition %s: cannot ask for the lease (%s)", self.partition.name, exc)
                takeover = None
            if takeover is not None:
                return takeover, asked_at
            if not announced:
                try:
                    current = self.leases.get(self.partition.name)
                except UNREACHABLE:
                    current = None
                self._say(self.say("standby.waiting", partition=self.partition.name, state=self._held_text(current)))
                self._write_standby_status(current)
                announced = True
            stop.wait(self.poll_s)
        return None, 0.0

    def _release(self) -> None:
        try:
            self.leases.release(self.partition.name, self.holder)
        except UNREACHABLE as exc:  # the standby then waits for the deadline instead
            log.warning("partition %s: lease not released (%s)", self.partition.name, exc)

    def _write_standby_status(self, current: LeaseRecord | None) -> None:
        """status.json of a standby, for `lifesign status` on this host."""
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        target = self.data_dir / STATUS_FILE
        tmp = target.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as doc:
            json.dump({"standby": {"partition": self.partition.name, "holder": self.holder,
                                   "since": time.time(), "active": current.holder if current else ""}}, doc)
        os.replace(tmp, target)

    def _from_whom(self, takeover: Takeover) -> str:
        if not takeover.previous_holder:
            return self.say("standby.first_holder")
        return self.say("standby.from", holder=takeover.previous_holder, lapsed=takeover.lapsed_s)

    def _held_text(self, record: LeaseRecord | None) -> str:
        if record is None:
            return self.say("standby.asking")
        if not record.held:
            return self.say("standby.free")
        return self.say("standby.held_by", holder=record.holder, epoch=record.epoch, left=record.remaining_s)

    def _say(self, line: str) -> None:
        log.info("%s", line)
        print(line, file=self.out, flush=True)


def _fence(stop: Callable[[], None], within_s: float) -> None:
    """Stop; if that does not finish within ``within_s``, end the process."""
    done = threading.Event()

    def stopping() -> None:
        stop()
        done.set()

    threading.Thread(target=stopping, name="fence", daemon=True).start()
    if not done.wait(within_s):
        log.critical("stopping after the lost lease hung for %g s: exiting", within_s)
        os._exit(FENCE_HUNG_EXIT)


__all__ = ["FENCE_HUNG_EXIT", "LeaseKeeper", "Standby"]
