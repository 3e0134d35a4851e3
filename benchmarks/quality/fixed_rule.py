"""Today's programmes' rule, written apart from lifesign: "under X m³ of water in H hours".

Checked every ``step_s`` on the clock (quarter hours); a check needs a reading at most
``fresh_s`` old (a silent meter is a maintenance job, not a welfare visit); an episode is a
run of consecutive failing checks and raises one alarm, at its first check.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

H = 3600.0


def fixed_rule_alarms(meter: npt.NDArray[np.integer], ts: npt.NDArray[np.float64], value: npt.NDArray[np.float64],
                      household_of_meter: Sequence[str], *, m3: float = 0.01, hours: float = 12.0,
                      step_s: float = 900.0, fresh_s: float = 3 * H) -> list[tuple[str, float, str]]:
    """Alarm records ``(household_id, opened_at, "fixed_rule")`` from water register readings.

    ``meter`` indexes ``household_of_meter``; readings may come in any order."""
    order = np.lexsort((ts, meter))
    meter, ts, value = meter[order], ts[order], value[order]
    alarms: list[tuple[str, float, str]] = []
    bounds = np.flatnonzero(np.diff(meter)) + 1
    for lo, hi in zip(np.r_[0, bounds], np.r_[bounds, len(meter)], strict=True):
        if hi <= lo:
            continue
        t, v = ts[lo:hi], value[lo:hi]
        checks = np.arange(np.ceil((t[0] + hours * H) / step_s) * step_s, t[-1] + 1, step_s)
        if not len(checks):
            continue
        now_i = np.searchsorted(t, checks, side="right") - 1
        ago_i = np.searchsorted(t, checks - hours * H, side="right") - 1
        fresh = (ago_i >= 0) & (checks - t[now_i] <= fresh_s)
        # 1e-9: registers are stored as floats (0.01 m³ written as 0.00999...)
        low = fresh & (v[now_i] - v[np.maximum(ago_i, 0)] < m3 - 1e-9)
        first = low & ~np.r_[False, low[:-1]]
        household = str(household_of_meter[int(meter[lo])])
        alarms += [(household, float(c), "fixed_rule") for c in checks[first]]
    return alarms
