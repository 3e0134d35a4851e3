"""A tiny seeded neighbourhood for detector tests: four homes, 15-minute readings.

Normal living (local time, UTC+8): water and power used every waking hour from
07:00 to 22:00, only the fridge at night. Each scenario injects one anomaly into
one home and ends it later, so it should open exactly one episode and clear it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lifesign.grid import Address, Household, Meter, Resident, Tier, Utility
from lifesign.readings import ReadingBatch
from lifesign.registry import Registry

H = 3600.0
DAY = 86400.0
T0 = 20412 * 86400.0 - 8 * H  # a local (UTC+8) midnight: 2025-11-20 00:00 +08:00
STEP = 900.0
HOMES = ("H1", "H2", "H3", "H4")

THRESHOLDS = """
timezone: Asia/Shanghai
defaults:
  no_usage:
    hours: 6
    windows: [{from: "22:00", to: "07:00", weight: 0.5}]
    max_data_lag_minutes: 20
    utilities: {water: {hours: 12}}
  meter_offline: {hours: 3}
  continuous_flow: {hours: 2}
  abnormal_high: {factor: 4, min_m3: 0.5}
households:
  H4: {low_volume: {water: {max_m3: 0.01, hours: 12}}}
"""


def registry(extra_homes: int = 0) -> Registry:
    ids = list(HOMES) + [f"N{i}" for i in range(extra_homes)]
    households = [Household(h, Address("C1", "G1", f"B{k // 2}", "1", "101"), Resident("R", 80, "p", "e"), Tier.GREEN)
                  for k, h in enumerate(ids)]
    meters = [Meter(f"{u.value[0].upper()}-{h}", h, u, "GW1") for h in ids for u in (Utility.WATER, Utility.ELECTRICITY)]
    return Registry.from_records(households, meters)


@dataclass(frozen=True)
class Scenario:
    name: str
    household: str
    slot: str
    rule: str
    severity: str
    utilities: tuple[str, ...]
    days: int = 5


SCENARIOS = {
    "no_usage": Scenario("no_usage", "H2", "no_usage", "no_usage", "critical", ("electricity", "water")),
    "water_silent": Scenario("water_silent", "H3", "no_usage_utility", "no_usage", "warning", ("water",)),
    "meter_offline": Scenario("meter_offline", "H4", "meter_offline", "meter_offline", "warning", ("water",)),
    "continuous_flow": Scenario("continuous_flow", "H1", "continuous_flow", "continuous_flow", "critical", ("water",)),
    "abnormal_high": Scenario("abnormal_high", "H1", "abnormal_high", "abnormal_high", "warning", ("water",)),
    "low_volume": Scenario("low_volume", "H4", "low_volume", "low_volume", "critical", ("water",)),
    "meter_stuck": Scenario("meter_stuck", "H2", "meter_stuck", "meter_stuck", "warning", ("electricity",)),
}


def readings(reg: Registry, scenario: str, days: int = 5, late_meter_home: str | None = None) -> ReadingBatch:
    """Every reading of the run in time order (rounds of 15 minutes)."""
    n_rounds = int(days * DAY / STEP)
    ts = T0 + STEP * np.arange(1, n_rounds + 1)
    local_h = ((ts + 8 * H) % DAY) / H
    day = np.floor((ts + 8 * H - T0 - 8 * H) / DAY)
    awake = (local_h > 7) & (local_h <= 22)
    on_the_hour = np.isclose(local_h % 1.0, 0.0)
    meters, times, values = [], [], []
    for h in reg.household_ids:
        water_l = np.where(awake & on_the_hour, 6.0, 0.0)
        power_w = np.where(awake & on_the_hour, 800.0, 60.0)
        report_water = np.ones(n_rounds, dtype=bool)
        if h == SCENARIOS[scenario].household:
            if scenario == "no_usage":
                stop = (ts > T0 + DAY + 10 * H) & (ts <= T0 + 2 * DAY + 10 * H)
                water_l[stop] = 0.0
                power_w[stop] = 60.0
            elif scenario == "water_silent":
                water_l[(ts > T0 + DAY + 8 * H) & (ts <= T0 + 2 * DAY + 12 * H)] = 0.0
            elif scenario == "meter_offline":
                report_water[(ts > T0 + DAY + 12 * H) & (ts <= T0 + 2 * DAY + 8 * H)] = False
            elif scenario == "continuous_flow":
                water_l[(ts > T0 + DAY + 14 * H) & (ts <= T0 + DAY + 17 * H)] = 3.0
            elif scenario == "low_volume":
                # a day of a litre every three hours (the power in use as usual): under 10 L in 12 h
                trickle = (ts > T0 + DAY + 7 * H) & (ts <= T0 + 2 * DAY + 8 * H)
                water_l[trickle] = np.where(on_the_hour[trickle] & (np.round(local_h[trickle]) % 3 == 0), 1.0, 0.0)
            elif scenario == "meter_stuck":
                # a gateway fills a day's gap with the same 400 Wh every quarter hour
                power_w[(ts > T0 + DAY + 12 * H) & (ts <= T0 + 2 * DAY + 12 * H)] = 1600.0
            elif scenario == "abnormal_high":
                water_l[(day == 3) & awake & on_the_hour] = 60.0
        water = 1234.567 + np.floor(np.cumsum(water_l)) / 1000.0
        # whole watt-hours, so equal quarter hours give exactly equal register steps
        kwh = 5678.9 + np.floor(np.cumsum(power_w * STEP / H) / 10.0) / 100.0
        w, e = reg.meter_index[f"W-{h}"], reg.meter_index[f"E-{h}"]
        starts = T0 + 2 * DAY if h == late_meter_home else -np.inf
        seen = ts >= starts
        meters += [np.full(int((report_water & seen).sum()), w), np.full(int(seen.sum()), e)]
        times += [ts[report_water & seen], ts[seen]]
        values += [water[report_water & seen], kwh[seen]]
    batch = ReadingBatch.of(np.concatenate(meters), np.concatenate(times), np.concatenate(values))
    order = np.argsort(batch.ts, kind="stable")
    return batch.take(order)


def hourly_chunks(batch: ReadingBatch) -> list[tuple[float, ReadingBatch]]:
    """(sweep time, readings of that hour) for every hour of the run."""
    hour = np.floor((batch.ts - T0 - 1) / H)
    chunks = []
    for k in np.unique(hour):
        chunks.append((T0 + (k + 1) * H, batch.take(np.flatnonzero(hour == k))))
    return chunks
