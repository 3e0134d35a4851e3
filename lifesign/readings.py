"""Readings travel as columns, never as per-reading objects.

A :class:`ReadingBatch` is three parallel numpy arrays: the meter's index in the
registry, the reading's event time (epoch seconds) and the register value
(cumulative m³ of water, kWh of electricity, m³ of gas).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

MeterIndexArray = npt.NDArray[np.int32]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class ReadingBatch:
    meter: MeterIndexArray
    ts: FloatArray
    value: FloatArray

    def __post_init__(self) -> None:
        if not (len(self.meter) == len(self.ts) == len(self.value)):
            raise ValueError(
                f"ReadingBatch columns differ in length: meter={len(self.meter)}, "
                f"ts={len(self.ts)}, value={len(self.value)}"
            )

    @classmethod
    def of(cls, meter: Iterable[int], ts: Iterable[float], value: Iterable[float]) -> ReadingBatch:
        """Build a batch from anything array-like, coercing the dtypes.

        >>> ReadingBatch.of([0, 1], [10, 20], [1.5, 2.0]).ts.dtype
        dtype('float64')
        """
        return cls(
            np.asarray(meter, dtype=np.int32),
            np.asarray(ts, dtype=np.float64),
            np.asarray(value, dtype=np.float64),
        )

    @classmethod
    def empty(cls) -> ReadingBatch:
        """A batch of no readings (one shared instance: it is never changed)."""
        return _EMPTY

    @classmethod
    def concat(cls, batches: Iterable[ReadingBatch]) -> ReadingBatch:
        parts = [b for b in batches if len(b)]
        if not parts:
            return cls.empty()
        if len(parts) == 1:
            return parts[0]
        return cls(
            np.concatenate([b.meter for b in parts]),
            np.concatenate([b.ts for b in parts]),
            np.concatenate([b.value for b in parts]),
        )

    def __len__(self) -> int:
        return len(self.meter)

    def take(self, index: npt.NDArray[np.intp] | npt.NDArray[np.bool_]) -> ReadingBatch:
        return ReadingBatch(self.meter[index], self.ts[index], self.value[index])

    def sorted_by_meter_time(self) -> ReadingBatch:
        order = np.lexsort((self.ts, self.meter))
        return self.take(order)


_EMPTY = ReadingBatch.of([], [], [])
for _column in (_EMPTY.meter, _EMPTY.ts, _EMPTY.value):
    _column.flags.writeable = False


class ReadingSink(Protocol):
    """Anything that takes validated readings after they are stored: the detector state."""

    def observe(self, batch: ReadingBatch) -> None: ...
