"""How often each meter reports, and how its register shows usage.

* Registers are cumulative and show completed units (floor): water and gas in whole
  litres (m³ with 3 decimals), electricity in 0.01 kWh steps.
* A meter reports its register every 1, 15 or 60 minutes (``1min``, ``15min``,
  ``60min``), at the end of each such interval, or it is an NB-IoT meter
  (``nbiot_daily``) that stores hourly readings and uploads them once a day (the
  upload is the network's business: :mod:`simulators.network`).
* Cadences are drawn per meter from shares (``{"15min": 0.8, "nbiot_daily": 0.2}``)
  with the scenario seed; the scenario's round interval must divide every cadence.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from lifesign.registry import Registry

CADENCES: dict[str, int] = {"1min": 60, "15min": 900, "60min": 3600, "nbiot_daily": 3600}
WATER_RESOLUTION_M3 = 0.001
ELECTRICITY_RESOLUTION_KWH = 0.01
_STREAM_CADENCE = 0x43414445


@dataclass(frozen=True)
class MeterCadence:
    """Per meter (registry order): seconds between readings, and whether it uploads daily."""

    every_s: npt.NDArray[np.int64]
    nbiot: npt.NDArray[np.bool_]

    @classmethod
    def uniform(cls, registry: Registry, every_s: int) -> MeterCadence:
        return cls(np.full(registry.n_meters, int(every_s), dtype=np.int64), np.zeros(registry.n_meters, dtype=bool))

    @classmethod
    def assign(cls, registry: Registry, shares: dict[str, float], seed: int) -> MeterCadence:
        unknown = [k for k in shares if k not in CADENCES]
        if unknown:
            raise ValueError(f"MeterCadence: cadence must be one of {', '.join(CADENCES)}, got {unknown[0]!r}")
        total = sum(shares.values())
        if not shares or total <= 0 or any(v < 0 for v in shares.values()):
            raise ValueError(f"MeterCadence: shares must be >= 0 and add up to more than 0, got {shares}")
        names = list(shares)
        edges = np.cumsum([shares[k] / total for k in names])
        u = np.random.default_rng([seed, _STREAM_CADENCE]).random(registry.n_meters)
        pick = np.minimum(np.searchsorted(edges, u, side="right"), len(names) - 1)
        every = np.array([CADENCES[k] for k in names], dtype=np.int64)[pick]
        nbiot = np.array([k == "nbiot_daily" for k in names])[pick]
        return cls(every, nbiot)

    def check(self, interval_s: float) -> None:
        bad = (self.every_s % interval_s) != 0
        if bad.any():
            raise ValueError(f"Scenario.interval_s ({interval_s:g} s) must divide every meter's cadence, "
                             f"got a meter reporting every {int(self.every_s[bad][0])} s")


def registers_to_values(water_l: np.ndarray, electricity_wh: np.ndarray, gas_l: np.ndarray) -> tuple[np.ndarray, ...]:
    """What the registers show: whole litres as m³, 0.01 kWh steps, whole litres of gas as m³.
    (1e-6 absorbs float crumbs so exactly one litre shows as one litre.)"""
    return (np.floor(water_l + 1e-6) / 1000.0, np.floor(electricity_wh / 10.0 + 1e-6) / 100.0,
            np.floor(gas_l + 1e-6) / 1000.0)


__all__ = ["CADENCES", "ELECTRICITY_RESOLUTION_KWH", "WATER_RESOLUTION_M3", "MeterCadence", "registers_to_values"]
