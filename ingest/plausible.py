"""Physically plausible readings: no meter delivers more than its connection can carry.

A gateway that sends 1e300, or a register that jumps by 50 m³ of water in an hour,
reports a fault, not a life: stored, such a value would count as activity and poison
every statistic of the home. Two checks, both per reading and vectorised:

- **absolute** (in the decoder, :class:`~ingest.decode.DecodePolicy`): a value must be
  finite and at most a register maximum;
- **rate** (here, against the meter's previous reading, which only the duplicate filter
  :class:`~ingest.seen.SeenReadings` knows): a register's increase over the time since
  its previous reading, or an interval meter's usage over its interval, must not imply
  more than the utility's maximum flow or power.

Limits: a meter's first reading since the service started has no previous reading, and
only the absolute bound applies to it. A reading older than the meter's newest stored
one (a late upload) is compared only with earlier readings of the same batch. Increases
over less than :data:`RATE_FLOOR_S` are judged as if over that long, so a register step
between two readings a second apart is not mistaken for a torrent.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from lifesign.grid import UTILITY_BY_CODE, UTILITY_CODES, Utility
from lifesign.readings import ReadingBatch

F8 = npt.NDArray[np.float64]

#: the largest value a register can show (a 9-digit counter); beyond it a value is garbage
MAX_REGISTER_VALUE = 1e9
#: increases over less time than this are judged as if over this long (register steps, jitter)
RATE_FLOOR_S = 60.0

_UNITS = {Utility.WATER: "m³/h", Utility.ELECTRICITY: "kW", Utility.GAS: "m³/h"}


@dataclass(frozen=True)
class MaxRates:
    """The most a domestic connection can carry; site.yaml ``ingest.max_rate``."""

    #: a domestic water connection peaks near 3 m³/h
    water_m3_per_h: float = 10.0
    electricity_kw: float = 100.0
    gas_m3_per_h: float = 20.0

    def of(self, utility: Utility) -> float:
        """Per hour: m³/h for water and gas, kW (kWh per hour) for electricity."""
        return {Utility.WATER: self.water_m3_per_h, Utility.ELECTRICITY: self.electricity_kw,
                Utility.GAS: self.gas_m3_per_h}[utility]

    def per_second(self, meter_utility: npt.NDArray[np.int8]) -> F8:
        """Each meter's maximum increase per second (its register's unit per second)."""
        by_code = np.zeros(max(UTILITY_CODES.values()) + 1)
        for utility, code in UTILITY_CODES.items():
            by_code[code] = self.of(utility) / 3600.0
        return by_code[meter_utility.astype(np.intp)]


def too_fast(meter: npt.NDArray[np.int32], ts: F8, value: F8, previous_ts: F8, previous_value: F8,
             interval: npt.NDArray[np.bool_], max_per_s: F8) -> tuple[npt.NDArray[np.bool_], F8]:
    """Which readings imply more than their meter's maximum rate, and the rate (per second)
    each implies. ``previous_*`` is the meter's reading before each one (NaN: none known)."""
    elapsed = np.maximum(ts - previous_ts, RATE_FLOOR_S)
    # a register's increase; an interval meter's value is already the interval's usage
    used = np.where(interval[meter], value, value - previous_value)
    with np.errstate(invalid="ignore"):
        rate = used / elapsed
        fast = rate > max_per_s[meter]  # NaN (no previous reading) compares False
    return fast, rate


def describe(batch: ReadingBatch, rate_per_s: F8, meter_utility: npt.NDArray[np.int8], rates: MaxRates,
             i: int) -> str:
    """The dead letter's detail for reading ``i`` of ``batch``."""
    utility = UTILITY_BY_CODE[int(meter_utility[int(batch.meter[i])])]
    unit = _UNITS[utility]
    return (f"value {float(batch.value[i]):g} implies {rate_per_s[i] * 3600.0:.3g} {unit} of {utility.value} "
            f"since the meter's previous reading, above the maximum {rates.of(utility):g} {unit}")
