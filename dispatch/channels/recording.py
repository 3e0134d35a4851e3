"""A channel that records what it was given: the I/O boundary in tests and dry runs."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from dispatch.channels.base import DeliveryError
from lifesign.grid import Worker


@dataclass(frozen=True)
class Recorded:
    recipient: Worker
    payload: dict[str, Any]


class RecordingChannel:
    def __init__(
        self, name: str = "recording", fail_times: int = 0, recoverable: bool = True
    ) -> None:
        self.name = name
        #: records deliveries to residents' emergency contacts too
        self.reaches_contacts = True
        self.delivered: list[Recorded] = []
        #: every call, including failed ones
        self.attempts = 0
        self._fail_left = fail_times
        self._recoverable = recoverable

    def fail_next(self, times: int, recoverable: bool = True) -> None:
        self._fail_left = times
        self._recoverable = recoverable

    def deliver(self, recipient: Worker, ticket_payload: dict[str, Any]) -> None:
        self.attempts += 1
        if self._fail_left > 0:
            self._fail_left -= 1
            raise DeliveryError(self.name, recipient.worker_id, "told to fail", self._recoverable)
        self.delivered.append(Recorded(recipient, copy.deepcopy(ticket_payload)))

    def recipients(self) -> list[str]:
        return [r.recipient.worker_id for r in self.delivered]
