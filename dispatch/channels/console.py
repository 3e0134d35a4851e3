"""Print tickets on a console (the operator's terminal, demos, the service log)."""

from __future__ import annotations

import sys
from typing import Any, TextIO

from dispatch.channels.base import DeliveryError
from lifesign.grid import Worker


class ConsoleChannel:
    name = "console"
    #: an operator at the console calls a resident's emergency contact
    reaches_contacts = True

    def __init__(self, stream: TextIO | None = None) -> None:
        # resolved at call time by default so pytest's capsys and redirected stdout work
        self._stream = stream

    def deliver(self, recipient: Worker, ticket_payload: dict[str, Any]) -> None:
        stream = self._stream if self._stream is not None else sys.stdout
        who = f"{recipient.worker_id}, {recipient.role.value}, {recipient.phone}"
        header = f"=== to {recipient.name} ({who}) ==="
        text = ticket_payload.get("text") or ticket_payload.get("title") or repr(ticket_payload)
        try:
            stream.write(f"{header}\n{text}\n\n")
            stream.flush()
        except (OSError, ValueError) as exc:  # ValueError: write to a closed stream
            raise DeliveryError(
                self.name, recipient.worker_id, f"writing to the console failed ({exc})", True
            ) from exc
