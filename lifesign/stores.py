"""The store protocols. Implementations live in the stage that owns them
(``ingest.historystores``, ``dispatch.orderstores``) and all pass one contract suite."""

from __future__ import annotations

import builtins
from typing import Protocol

from lifesign.alerts import EpisodeKey
from lifesign.readings import ReadingBatch
from lifesign.workorders import LedgerEntry, OrderStatus, Outcome, WorkOrder


class HistoryStore(Protocol):
    """Where readings are kept. Stores are built with the registry's meter ids
    (``meter_ids[i]`` is the id of meter index ``i`` in a :class:`ReadingBatch`) and
    persist those ids, never the index, so reordering the registry under existing
    history keeps every reading with its meter.

    Ingest filters duplicates before writing (it counts them); stores need only be
    idempotent: writing the same (meter, ts) twice leaves one point.
    """

    def write(self, batch: ReadingBatch) -> None:
        """Keep the batch durably (or as acknowledged by the server) before returning.
        Raises OSError (or a subclass) when the store is unreachable: ingest then
        stops acking and spools."""
        ...

    def read(self, start: float | None = None, end: float | None = None) -> ReadingBatch:
        """Readings with start <= ts < end of meters in the registry, one point per
        (meter, ts), sorted by (meter, ts)."""
        ...

    def count(self) -> int: ...

    def close(self) -> None: ...


class WorkOrderStore(Protocol):
    def open_order(
        self, key: EpisodeKey, assignee: str, tier: str, at: float, evidence: dict[str, float],
        *, join_active: bool = False,
    ) -> tuple[WorkOrder, bool]:
        """Open the order for an episode, or return the existing one (created=False).

        With ``join_active``, an active order of another episode of the same household
        and rule is returned instead of opening one (created=False): one visit answers
        both. The check and the insert are one transaction, so two dispatchers on the
        same store cannot both open."""
        ...

    def get(self, order_id: int) -> WorkOrder: ...

    def find(self, key: EpisodeKey) -> WorkOrder | None: ...

    def active_for(self, household_id: str, rule: str) -> WorkOrder | None: ...

    def list(self, statuses: frozenset[OrderStatus] | None = None) -> list[WorkOrder]: ...

    def transition(
        self, order_id: int, status: OrderStatus, at: float, actor: str,
        note: str = "", outcome: Outcome | None = None,
    ) -> WorkOrder: ...

    def escalate(self, order_id: int, level: int, assignee: str, at: float, note: str = "",
                 from_level: int | None = None) -> WorkOrder:
        """Move an unacknowledged order still at ``from_level`` (default ``level - 1``) up to ``level``."""
        ...

    def record_usage_resumed(self, order_id: int, at: float) -> WorkOrder: ...

    # builtins.list: inside this class `list` is the method above
    def ledger(self, order_id: int | None = None) -> builtins.list[LedgerEntry]: ...

    def outcomes(self, since: float = float("-inf")) -> builtins.list[tuple[str, str, str, float]]:
        """(household_id, rule, outcome, resolved_at) of every household order resolved at or
        after ``since``, oldest first; infrastructure orders (``building:...``) are left out.
        ``lifesign learn`` reads false alarms and absences per household from it."""
        ...

    def close(self) -> None: ...
