from __future__ import annotations

import numpy as np
import pytest

from simulators.cohort import make_cohort
from simulators.routine import DAY, HOUR, MAX_NIGHT_H, Routine

# 2024-11-20 00:00 local (UTC+8)
DAY0 = 20047
START = DAY0 * DAY - 8 * HOUR


@pytest.fixture(scope="module")
def cohort():  # type: ignore[no-untyped-def]
    return make_cohort(200, 11, with_gas_fraction=0.2)


def test_same_seed_same_usage_and_another_seed_differs(cohort) -> None:  # type: ignore[no-untyped-def]
    a = Routine(cohort.homes, seed=3).usage(START, START + DAY)
    b = Routine(cohort.homes, seed=3).usage(START, START + DAY)
    c = Routine(cohort.homes, seed=4).usage(START, START + DAY)
    assert a.water_l.tobytes() == b.water_l.tobytes()
    assert a.electricity_wh.tobytes() == b.electricity_wh.tobytes()
    assert a.gas_l.tobytes() == b.gas_l.tobytes()
    assert not np.array_equal(a.water_l, c.water_l)


def test_usage_does_not_depend_on_the_round_size(cohort) -> None:  # type: ignore[no-untyped-def]
    routine = Routine(cohort.homes, seed=1)
    t0 = START + 5 * HOUR
    whole = routine.usage(t0, t0 + 6 * HOUR)
    quarters = [Routine(cohort.homes, seed=1).usage(t0 + k * 900, t0 + (k + 1) * 900) for k in range(24)]
    np.testing.assert_allclose(whole.water_l, np.sum([q.water_l for q in quarters], axis=0), rtol=1e-9)  # rounds are rounded to 1e-6 units
    np.testing.assert_allclose(whole.electricity_wh, np.sum([q.electricity_wh for q in quarters], axis=0), rtol=1e-9)  # rounds are rounded to 1e-6 units
    np.testing.assert_allclose(whole.gas_l, np.sum([q.gas_l for q in quarters], axis=0), rtol=1e-9, atol=1e-5)


def test_a_home_does_not_depend_on_the_cohort_size() -> None:
    small = Routine(make_cohort(40, 9).homes, seed=2).usage(START, START + 2 * DAY)
    large = Routine(make_cohort(90, 9).homes, seed=2).usage(START, START + 2 * DAY)
    np.testing.assert_array_equal(small.water_l, large.water_l[:40])
    np.testing.assert_array_equal(small.electricity_wh, large.electricity_wh[:40])


def test_nights_last_5_to_8_5_hours_and_awake_gaps_stay_under_3_hours(cohort) -> None:  # type: ignore[no-untyped-def]
    routine = Routine(cohort.homes, seed=5)
    worst_gap = 0.0
    for day in range(DAY0, DAY0 + 14):
        plan, before = routine.plan(day), routine.plan(day - 1)
        night_h = (plan.wake - before.sleep) / HOUR
        assert night_h.min() >= 5.0 and night_h.max() <= MAX_NIGHT_H < 9.5
        awake_h = (plan.sleep - plan.wake) / HOUR
        assert awake_h.min() >= 12.0
        for i in range(routine.n):
            t = plan.water_t[i][(plan.water_l[i] > 0) & (plan.water_t[i] >= plan.wake[i]) & (plan.water_t[i] < plan.sleep[i])]
            t = np.sort(t)
            assert t[0] - plan.wake[i] <= 15 * 60 and plan.sleep[i] - t[-1] <= 15 * 60
            worst_gap = max(worst_gap, float(np.diff(t).max()))
    assert 1.5 * HOUR < worst_gap <= 3 * HOUR


def test_daily_water_matches_the_profile_and_electricity_is_plausible(cohort) -> None:  # type: ignore[no-untyped-def]
    used = Routine(cohort.homes, seed=6).usage(START, START + 14 * DAY)
    water_per_day = used.water_l / 14
    ratio = water_per_day / cohort.homes.daily_water_l
    assert 0.9 < ratio.mean() < 1.1
    assert ratio.min() > 0.75 and ratio.max() < 1.3
    kwh_per_day = used.electricity_wh / 14 / 1000
    assert kwh_per_day.min() > 1.0 and kwh_per_day.max() < 8.0
    has_gas = cohort.homes.has_gas
    assert (used.gas_l[has_gas] > 0).all() and (used.gas_l[~has_gas] == 0).all()
    # homes cooking on gas use less electricity than those cooking electrically
    assert kwh_per_day[has_gas].mean() < kwh_per_day[~has_gas].mean()


def test_active_until_leaves_only_the_base_load(cohort) -> None:  # type: ignore[no-untyped-def]
    routine = Routine(cohort.homes, seed=7)
    stop = START + 10 * HOUR
    until = np.full(routine.n, np.inf)
    until[:5] = stop
    after = routine.usage(stop, stop + DAY, until)
    assert (after.water_l[:5] == 0).all() and (after.gas_l[:5] == 0).all()
    np.testing.assert_allclose(after.electricity_wh[:5], cohort.homes.base_load_w[:5] * 24)
    assert (after.water_l[5:] > 0).all()
    assert (after.electricity_wh[5:] > cohort.homes.base_load_w[5:] * 24).all()
    before = routine.usage(stop - 4 * HOUR, stop, until)
    assert (before.water_l[:5] > 0).all()


def test_bad_intervals_are_rejected(cohort) -> None:  # type: ignore[no-untyped-def]
    routine = Routine(cohort.homes, seed=0)
    with pytest.raises(ValueError, match="t1 must be > t0"):
        routine.usage(START, START)
    with pytest.raises(ValueError, match=r"active_until must have one entry per household \(200\)"):
        routine.usage(START, START + 900, np.zeros(3))
