"""How a ticket reaches a person. A channel returns only once the other side confirmed."""

from __future__ import annotations

from typing import Any, Protocol

from lifesign.grid import Worker


class DeliveryError(RuntimeError):
    """A channel could not confirm a delivery.

    ``recoverable`` tells the dispatcher whether trying again later can help (broker
    down, timeout) or not (the recipient cannot be reached on this channel at all)."""

    def __init__(self, channel: str, recipient: str, problem: str, recoverable: bool) -> None:
        self.channel = channel
        self.recipient = recipient
        self.problem = problem
        self.recoverable = recoverable
        kind = "recoverable" if recoverable else "not recoverable"
        super().__init__(f"{channel} could not deliver to {recipient!r}: {problem} ({kind})")


class Channel(Protocol):
    """A channel may also set ``reaches_contacts = True`` (read with getattr, default False)
    when it can reach people outside the staff, e.g. a resident's emergency contact
    through an SMS gateway; staff-only channels (MQTT topics, group bots) leave it out."""

    name: str

    def deliver(self, recipient: Worker, ticket_payload: dict[str, Any]) -> None:
        """Send the ticket; return once the channel confirmed it, else raise DeliveryError."""
        ...
