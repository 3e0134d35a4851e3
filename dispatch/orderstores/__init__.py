"""Work-order stores (orders, ledger, delivery outbox): ``<Impl>WorkOrderStore``."""

from dispatch.orderstores.base import Delivery, DispatchStore, OutboxStore
from dispatch.orderstores.lifecycle import (
    ALLOWED_NEXT,
    IllegalEscalationError,
    IllegalTransitionError,
    OrderLookupError,
    OrderStateError,
)
from dispatch.orderstores.memory import MemoryWorkOrderStore
from dispatch.orderstores.sqlite import SqliteWorkOrderStore

__all__ = [
    "ALLOWED_NEXT",
    "Delivery",
    "DispatchStore",
    "IllegalEscalationError",
    "IllegalTransitionError",
    "MemoryWorkOrderStore",
    "OrderLookupError",
    "OrderStateError",
    "OutboxStore",
    "SqliteWorkOrderStore",
]
