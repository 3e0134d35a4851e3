"""History stores: every implementation of :class:`lifesign.stores.HistoryStore`.

All pass one contract suite (tests/ingest/test_history_store_contract.py).
"""

from typing import Any

from ingest.historystores.memory import MemoryHistoryStore
from ingest.historystores.segments import SegmentHistoryStore

__all__ = ["InfluxHistoryStore", "MemoryHistoryStore", "SegmentHistoryStore"]


def __getattr__(name: str) -> Any:
    # Imported on first use: influxdb-client costs ~0.4 s of start-up that sites on
    # the embedded store (and every CLI command) should not pay.
    if name == "InfluxHistoryStore":
        from ingest.historystores.influx import InfluxHistoryStore

        return InfluxHistoryStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
