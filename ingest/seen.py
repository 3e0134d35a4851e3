"""What ingest has already stored: duplicates, late readings and register resets.

Gateways resend (QoS 1 redelivery, retries after a timeout) and reorder (a
gateway back online uploads its backlog after newer readings of other meters).
Ingest must count those and never write a (meter, ts) twice, whatever the
store. :class:`SeenReadings` keeps, per meter, the newest reading, and for
every meter the keys of readings stored within a horizon behind the newest
reading seen overall. A reading newer than its meter's newest is new without a
lookup (the usual case); only older ones are looked up.

Limits: a duplicate older than the horizon cannot be recognised here; it is
counted as late and written again, and the stores keep one point per key
anyway. Keys are (meter, ts in whole milliseconds since 2000), so two readings
of one meter less than a millisecond apart count as one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from ingest.plausible import too_fast
from lifesign.readings import ReadingBatch

_EPOCH_2000_S = 946_684_800.0
_TS_BITS = 41  # 2^41 ms ≈ 69.7 years from 2000
_TS_MASK = (1 << _TS_BITS) - 1
#: meter indices must fit in the key beside the timestamp
MAX_METERS = 1 << (63 - _TS_BITS)


def reading_keys(meter: npt.NDArray[np.int32], ts: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    ms = np.clip(np.rint((ts - _EPOCH_2000_S) * 1000.0), 0, _TS_MASK).astype(np.int64)
    return (meter.astype(np.int64) << _TS_BITS) | ms


def _older_than_earlier_arrivals(meter: npt.NDArray[np.int32], ms: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    """True where a reading is older than one of its meter that arrived before it in the
    same batch (a gateway's held-back message taken together with the newer one)."""
    n = len(meter)
    order = np.argsort(meter, kind="stable")  # by meter, then arrival
    m, t = meter[order], ms[order]
    starts = np.ones(n, dtype=bool)
    starts[1:] = m[1:] != m[:-1]
    # a running max per meter in one pass: segment number in the high bits
    rel = np.clip(t - t.min(), 0, (1 << 36) - 1)
    key = (np.cumsum(starts) - 1).astype(np.int64) << 36 | rel
    running = np.maximum.accumulate(key)
    older = np.zeros(n, dtype=bool)
    older[1:] = ~starts[1:] & (rel[1:] < (running[:-1] & ((1 << 36) - 1)))
    out = np.zeros(n, dtype=bool)
    out[order] = older
    return out


@dataclass(frozen=True)
class Sorted:
    """A batch split into what to store and what was seen before."""

    #: readings to write: first of their key in the batch and not stored before
    new: ReadingBatch
    #: readings already stored, or repeated within the batch
    duplicates: int
    #: new readings older than their meter's newest reading (a reordering)
    late: int
    #: indices into ``new`` of register values below their meter's previous value
    resets: npt.NDArray[np.intp]
    #: new readings implying more than their meter's maximum rate (kept out of ``new``)
    implausible: ReadingBatch = field(default_factory=ReadingBatch.empty)
    #: the rate (register units per second) each implausible reading implies
    implausible_rate: npt.NDArray[np.float64] = field(default_factory=lambda: np.empty(0))


class SeenReadings:
    def __init__(self, n_meters: int, horizon_s: float = 6 * 3600.0,
                 interval: npt.NDArray[np.bool_] | None = None,
                 max_per_s: npt.NDArray[np.float64] | None = None) -> None:
        """``max_per_s``: each meter's maximum increase per second (:mod:`ingest.plausible`);
        None checks no rates."""
        if n_meters > MAX_METERS:
            raise ValueError(f"at most {MAX_METERS} meters fit the duplicate index, got {n_meters}")
        self.horizon_s = horizon_s
        #: interval-usage meters: their values go up and down, so they never "reset"
        self.interval = np.zeros(n_meters, dtype=bool) if interval is None else np.asarray(interval, dtype=bool)
        self.max_per_s = max_per_s
        self.newest_ts = np.full(n_meters, -np.inf)
        self.newest_value = np.full(n_meters, np.nan)
        self._base = np.empty(0, dtype=np.int64)  # sorted
        self._tail: list[npt.NDArray[np.int64]] = []
        self._tail_n = 0
        self._latest = -np.inf  # newest ts seen overall: the horizon trails it

    @property
    def nbytes(self) -> int:
        return int(self.newest_ts.nbytes + self.newest_value.nbytes + self._base.nbytes + 8 * self._tail_n)

    def sort(self, batch: ReadingBatch) -> Sorted:
        """Split a batch; changes nothing until :meth:`commit`."""
        if len(batch) == 0:
            return Sorted(batch, 0, 0, np.empty(0, dtype=np.intp))
        keys = reading_keys(batch.meter, batch.ts)
        _, first_at = np.unique(keys, return_index=True)
        first = np.zeros(len(keys), dtype=bool)
        first[first_at] = True
        older = batch.ts <= self.newest_ts[batch.meter]
        candidates = np.flatnonzero(first & older)
        if len(candidates):
            stored = self._contains(keys[candidates])
            first[candidates[stored]] = False
        new = batch.take(first)
        implausible, rate = ReadingBatch.empty(), np.empty(0)
        if self.max_per_s is not None and len(new):
            order, previous_ts, previous_value = self._previous(new)
            fast_sorted, rate_sorted = too_fast(new.meter[order], new.ts[order], new.value[order], previous_ts,
                                                previous_value, self.interval, self.max_per_s)
            if fast_sorted.any():
                fast = np.zeros(len(new), dtype=bool)
                fast[order[fast_sorted]] = True
                rates = np.empty(len(new))
                rates[order] = rate_sorted
                implausible, rate = new.take(fast), rates[fast]
                # one pass: a spike is dropped, and the reading after it compares with the
                # one before it when the resets below are worked out
                first[np.flatnonzero(first)[fast]] = False
                new = batch.take(first)
        late = int(np.count_nonzero(first & (older | _older_than_earlier_arrivals(batch.meter, keys & _TS_MASK))))
        return Sorted(new, len(batch) - len(new) - len(implausible), late, self._resets(new), implausible, rate)

    def _previous(self, new: ReadingBatch) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float64],
                                                    npt.NDArray[np.float64]]:
        """The order of ``new`` by (meter, ts), and in that order each reading's previous
        reading of its meter (time, value): the one before it in the batch, or the stored
        newest if that is older; NaN when there is none."""
        order = np.argsort(reading_keys(new.meter, new.ts))  # by (meter, ts); keys are unique here
        meter, value, ts = new.meter[order], new.value[order], new.ts[order]
        previous_value = np.empty(len(order))
        previous_ts = np.empty(len(order))
        previous_value[1:], previous_ts[1:] = value[:-1], ts[:-1]
        starts = np.ones(len(order), dtype=bool)
        starts[1:] = meter[1:] != meter[:-1]
        prior_value = self.newest_value[meter[starts]]
        prior_ts = self.newest_ts[meter[starts]].copy()
        newer = prior_ts >= ts[starts]
        prior_value[newer], prior_ts[newer] = np.nan, np.nan
        prior_ts[~np.isfinite(prior_ts)] = np.nan  # never stored: -inf
        previous_value[starts], previous_ts[starts] = prior_value, prior_ts
        return order, previous_ts, previous_value

    def _resets(self, new: ReadingBatch) -> npt.NDArray[np.intp]:
        """New readings whose register went below the meter's previous (older) value."""
        if len(new) == 0:
            return np.empty(0, dtype=np.intp)
        order, _, previous = self._previous(new)
        return np.sort(order[(new.value[order] < previous) & ~self.interval[new.meter[order]]])

    def _contains(self, keys: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        self._merge()
        at = np.searchsorted(self._base, keys)
        found = np.zeros(len(keys), dtype=bool)
        inside = at < len(self._base)
        found[inside] = self._base[at[inside]] == keys[inside]
        return found

    def commit(self, stored: ReadingBatch) -> None:
        """Record readings that are now in the store."""
        if len(stored) == 0:
            return
        keys = reading_keys(stored.meter, stored.ts)
        order = np.argsort(keys, kind="stable")  # by (meter, ts)
        meter, ts, value = stored.meter[order], stored.ts[order], stored.value[order]
        last = np.ones(len(order), dtype=bool)
        last[:-1] = meter[1:] != meter[:-1]
        m, t, v = meter[last], ts[last], value[last]
        newer = t > self.newest_ts[m]
        self.newest_ts[m[newer]] = t[newer]
        self.newest_value[m[newer]] = v[newer]
        self._latest = max(self._latest, float(ts.max()))
        self._tail.append(keys)
        self._tail_n += len(stored)
        if self._tail_n > max(65536, len(self._base) // 4):
            self._merge()

    def _merge(self) -> None:
        if not self._tail:
            return
        merged = np.concatenate([self._base, *self._tail])
        merged.sort()
        horizon_ms = int((self._latest - self.horizon_s - _EPOCH_2000_S) * 1000.0)
        self._base = merged[(merged & _TS_MASK) >= horizon_ms]
        self._tail = []
        self._tail_n = 0
