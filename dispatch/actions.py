"""The one way a person changes a work order: acknowledge, on site, resolve.

The worker's phone page, the operations view, the HTTP API and the CLI all call these
three functions, so every change is one ledger line naming an authenticated
:class:`Actor` (never free text), and an illegal step is refused the same way
everywhere. Acknowledging takes the order out of escalation at once: escalation
only moves unacknowledged orders, in the same store transaction as the check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from lifesign.stores import WorkOrderStore
from lifesign.workorders import OrderStatus, Outcome, WorkOrder

#: a note is what the person typed on a phone; the ledger keeps it, within reason
MAX_NOTE_CHARS = 2000
_NAME = re.compile(r"^[A-Za-z0-9_.@+\-]{1,64}$")


class ActorKind(str, Enum):
    #: a grid worker (or leader, desk) from the roster, acting through their signed link
    WORKER = "worker"
    #: a staff account that logged in to the desk
    STAFF = "staff"
    #: the operator running the CLI on the server (their OS account)
    CLI = "cli"


@dataclass(frozen=True)
class Actor:
    """Who acted, as the caller authenticated them; the ledger writes ``str(actor)``.

    >>> str(Actor(ActorKind.WORKER, "gw-001")), str(Actor(ActorKind.CLI, "root", "staff:li"))
    ('worker:gw-001', 'cli:root as staff:li')
    """

    kind: ActorKind
    name: str
    #: an account the CLI operator named with ``--as`` (checked by the caller)
    acting_as: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.kind, ActorKind):
            raise TypeError(f"actor kind must be an ActorKind, got {self.kind!r}")
        if not _NAME.match(self.name):
            raise ValueError(f"actor name must be 1-64 letters, digits or _.@+-, got {self.name!r}")

    def __str__(self) -> str:
        own = f"{self.kind.value}:{self.name}"
        return f"{own} as {self.acting_as}" if self.acting_as else own


def acknowledge(store: WorkOrderStore, order_id: int, actor: Actor, at: float, note: str = "") -> WorkOrder:
    """接单: a person takes the order; escalation stops."""
    return _step(store, order_id, OrderStatus.ACKNOWLEDGED, actor, at, note)


def on_site(store: WorkOrderStore, order_id: int, actor: Actor, at: float, note: str = "") -> WorkOrder:
    """到场: someone is at the door."""
    return _step(store, order_id, OrderStatus.ONSITE, actor, at, note)


def resolve(store: WorkOrderStore, order_id: int, actor: Actor, at: float, outcome: Outcome | str | None,
            note: str = "") -> WorkOrder:
    """结案: closed with an outcome (one of :class:`Outcome`)."""
    return _step(store, order_id, OrderStatus.RESOLVED, actor, at, note, parse_outcome(outcome))


def parse_outcome(outcome: Outcome | str | None) -> Outcome | None:
    """
    >>> parse_outcome("away").value
    'away'
    """
    if outcome is None or isinstance(outcome, Outcome):
        return outcome
    try:
        return Outcome(outcome)
    except ValueError:
        raise ValueError(f"outcome must be one of {', '.join(o.value for o in Outcome)}, got {outcome!r}") from None


def _step(store: WorkOrderStore, order_id: int, status: OrderStatus, actor: Actor, at: float, note: str,
          outcome: Outcome | None = None) -> WorkOrder:
    if not isinstance(actor, Actor):
        raise TypeError(f"actor must be an authenticated Actor, got {type(actor).__name__} {actor!r}")
    if len(note) > MAX_NOTE_CHARS:
        raise ValueError(f"note must be at most {MAX_NOTE_CHARS} characters, got {len(note)}")
    # the store checks the lifecycle (IllegalTransitionError names both states) inside its transaction
    return store.transition(order_id, status, at, str(actor), note.strip(), outcome)


__all__ = ["MAX_NOTE_CHARS", "Actor", "ActorKind", "acknowledge", "on_site", "parse_outcome", "resolve"]
