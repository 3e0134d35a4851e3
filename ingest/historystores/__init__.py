"""History stores: every implementation of :class:`lifesign.stores.HistoryStore`.

All pass one contract suite (tests/ingest/test_history_store_contract.py).
"""

from ingest.historystores.memory import MemoryHistoryStore
from ingest.historystores.segments import SegmentHistoryStore

__all__ = ["MemoryHistoryStore", "SegmentHistoryStore"]
