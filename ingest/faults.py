"""Fault injection for crash tests: die with SIGKILL at a named point of the write path.

``LIFESIGN_FAULT=<point>:<n>`` in the environment of the service (``lifesign run``)
kills the process, as ``kill -9`` would, the n-th time the ingest worker passes
``<point>`` with a batch in hand (or the embedded store's compaction passes it). It lets a crash test choose its kill points instead
of hoping a timer lands in the middle of a stream. Unset, as in production, a point
costs one call that returns at once.

The points, in the order a batch passes them:

``before_store_write``
    decoded and sorted; nothing of the batch is durable yet
``after_store_write``
    durable (store, or spool while the store is down); the detector not yet told
``before_ack``
    the detector updated too; the broker not yet acked, so it delivers the batch again
``after_ack``
    acked (the PUBACKs may still sit in the client's socket buffer)

The embedded store's compaction (ingest/historystores/compaction.py), in its order:

``after_seal``
    a finished day's live log renamed to a side segment; nothing merged yet
``before_day_rewrite``
    a day file about to be rewritten with its side segments; nothing written yet
``after_day_rewrite``
    the new day file in place; the side segments it took in not yet removed
``after_side_rewrite``
    a side Parquet file in place; the side segments it took in not yet removed
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Mapping

FAULT_ENV = "LIFESIGN_FAULT"
POINTS = ("before_store_write", "after_store_write", "before_ack", "after_ack")
COMPACTION_POINTS = ("after_seal", "before_day_rewrite", "after_day_rewrite", "after_side_rewrite")

#: what the write path calls at each point
FaultPoint = Callable[[str], None]


def _inert(point: str) -> None:
    return None


def fault_point_from(environ: Mapping[str, str] = os.environ) -> FaultPoint:
    """The write path's fault point: inert unless ``LIFESIGN_FAULT`` names one.

    >>> fault_point_from({})("after_store_write")  # unset: nothing happens
    >>> fault_point_from({"LIFESIGN_FAULT": "after_store"})
    Traceback (most recent call last):
    ...
    ValueError: LIFESIGN_FAULT must be <point>:<count> with point one of ... got 'after_store'
    """
    spec = environ.get(FAULT_ENV, "").strip()
    if not spec:
        return _inert
    point, _, count = spec.partition(":")
    if point not in POINTS + COMPACTION_POINTS or not count.isdigit() or int(count) < 1:
        raise ValueError(f"{FAULT_ENV} must be <point>:<count> with point one of {', '.join(POINTS + COMPACTION_POINTS)} "
                         f"and count >= 1, got {spec!r}")
    remaining = int(count)

    def reached(name: str) -> None:
        nonlocal remaining
        if name != point:
            return
        remaining -= 1
        if remaining == 0:
            os.kill(os.getpid(), signal.SIGKILL)

    return reached


__all__ = ["COMPACTION_POINTS", "FAULT_ENV", "POINTS", "FaultPoint", "fault_point_from"]
