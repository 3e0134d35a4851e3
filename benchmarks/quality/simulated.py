"""Our own simulator as a benchmark dataset: a seeded cohort with incidents, absences,
meter outages and building cuts, after training days without incidents.

The cohort has realistic lifestyles (late risers, naps, visitors, baths, fridge cycles, low
users). Its ground truth comes from the simulator; illness, building cuts and meter
outages explain an alarm ("explained"), absences are counted k/n, leaks apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd

from quality.datasets import WINDOW_COLUMNS, Dataset, empty_windows
from quality.project import (
    Cohort,
    Lifestyle,
    ReadingBatch,
    Scenario,
    draw_absences,
    draw_incident,
    ground_truth_rows,
    leave_loads_on,
    make_cohort,
    pick_incidents,
)

DAY = 86400.0
H = 3600.0
START = 20412 * DAY - 8 * H  # a local (UTC+8) midnight
WELFARE_KINDS = ("incapacitated", "fall_tap_running")
#: the random stream of the taps left running (their flow)
TAP_STREAM = 7
#: the share of residents who stop with a load left on (the independent cohort: half)
LEFT_ON_SHARE = 0.5


@dataclass(frozen=True)
class Cohorts:
    cohort: Cohort
    train: Scenario
    run: Scenario
    #: the simulator's ground truth rows (start/end as floats, end inf: past the run)
    truth: pd.DataFrame


def build(homes: int, days: float, train_days: float, seed: int, incidents_per_1000: int = 40) -> Cohorts:
    cohort = make_cohort(homes, seed, low_user_fraction=0.05, with_gas_fraction=0.2)
    lifestyle = Lifestyle.realistic()
    train_start = START - train_days * DAY
    train = Scenario(cohort, train_start, train_days, seed=seed, lifestyle=lifestyle,
                     absences=draw_absences(cohort, train_start, train_days, seed))
    absences = draw_absences(cohort, START, days, seed + 1)
    scale = max(homes / 1000.0, 0.01)
    n_incap = max(2, round(incidents_per_1000 * scale))
    n_fall = max(1, round(10 * scale))
    incap = pick_incidents(cohort, n_incap, START, days, seed, avoid=absences)
    falls = pick_incidents(cohort, n_fall, START, days, seed + 7, kind="fall_tap_running", avoid=absences,
                           exclude=frozenset(i.household_id for i in incap))
    # pick_incidents places them; draw_incident gives the tap its flow (120-360 L/h), from a
    # stream of its own so every other draw stays as it was
    taps = np.random.default_rng([seed, TAP_STREAM])
    falls = tuple(draw_incident(cohort, "fall_tap_running", i.start, taps, cohort.registry.household_index[i.household_id])
                  for i in falls)
    # half the residents who stop leave a load on (a light, the TV, in winter a heater), as in
    # the independent cohort: the lamp rule (no_usage.left_on) is judged on our data too
    stopping = leave_loads_on(incap + falls, LEFT_ON_SHARE, seed)
    rng = np.random.default_rng(seed)
    taken = {i.household_id for i in incap + falls}
    free = [k for k, h in enumerate(cohort.registry.household_ids) if h not in taken]
    rng.shuffle(free)
    extra = []
    counts = {"leak": max(1, round(10 * scale)), "illness": max(1, round(10 * scale)),
              "meter_offline": max(1, round(30 * scale)), "water_cut": max(1, round(5 * scale)),
              "power_cut": max(1, round(3 * scale))}
    for kind, count in counts.items():
        for _ in range(count):
            at = float(np.floor(START + DAY + rng.random() * (days - 2) * DAY))
            household = free.pop() if kind in ("leak", "illness") else int(rng.integers(homes))
            extra.append(draw_incident(cohort, kind, at, rng, household=household))
    run = Scenario(cohort, START, days, seed=seed + 1, lifestyle=lifestyle, absences=absences,
                   incidents=tuple(sorted(stopping + tuple(extra), key=lambda i: (i.start, i.household_id, i.kind))))
    truth = pd.DataFrame(ground_truth_rows(run))
    truth["start"] = pd.to_numeric(truth["start"]).astype(float)
    truth["end"] = pd.to_numeric(truth["end"], errors="coerce").fillna(np.inf).astype(float)
    return Cohorts(cohort, train, run, truth)


def readings(scenario: Scenario) -> ReadingBatch:
    return ReadingBatch.concat(r.batch for r in scenario.rounds())


def as_dataset(c: Cohorts, name: str) -> Dataset:
    """Per-household windows: a building cut applies to every home of its building, a meter
    outage to the meter's home."""
    registry = c.cohort.registry
    truth = c.truth.copy()
    truth["household_id"] = truth["household_id"].fillna("").astype(str)
    homes_of_building = pd.DataFrame({"building": registry.building.astype(str),
                                      "home": registry.household_ids.astype(str)})
    by_home = truth[truth["household_id"] != ""]
    by_building = truth[truth["household_id"] == ""].merge(homes_of_building, on="building")
    by_building["household_id"] = by_building["home"]
    rows = pd.concat([by_home, by_building[by_home.columns]], ignore_index=True)
    rows["cause"] = rows["kind"]
    welfare = (rows["category"] == "incident") & rows["kind"].isin(WELFARE_KINDS)
    leak = (rows["category"] == "incident") & (rows["kind"] == "leak")
    absence = rows["category"] == "absence"
    condition = rows["category"] == "condition"  # a running toilet explains no alarm

    def pick(mask: pd.Series) -> pd.DataFrame:
        return rows.loc[mask, WINDOW_COLUMNS].reset_index(drop=True) if mask.any() else empty_windows()

    incidents = pick(welfare)
    if welfare.any():  # which ones left a load on (the light on/off split of the tables)
        incidents["light_on"] = (rows.loc[welfare, "left_on"].fillna("").astype(str) != "").to_numpy()

    return Dataset(
        name=name, registry=registry,
        readings=ReadingBatch.concat([readings(c.train), readings(c.run)]),
        test_start=c.run.start, test_end=c.run.end, timezone="Asia/Shanghai",
        incidents=incidents, absences=pick(absence), leaks=pick(leak),
        explained=pick(~welfare & ~leak & ~absence & ~condition),
        train_note=f"trained on {(c.run.start - c.train.start) / DAY:g} simulated days before the test")


@cache
def simulated_dataset(homes: int, seed: int, days: float = 60, train_days: float = 60,
                      incidents_per_1000: int = 40) -> Dataset:
    return as_dataset(build(homes, days, train_days, seed, incidents_per_1000), f"simulator seed {seed}")
