"""How long a load has burned through this home's normal silences: the lamp rule, learned.

The lamp rule (``no_usage.left_on``) brings a silence's alarm forward once a load nobody
switched off (a lamp, the TV, a heater) has burned through it for ``left_on.hours``: how a
fall in the evening looks. The configured 6 h holds for every home; a home whose history
never kept a load burning through a silence for more than an hour or two can be told
sooner. Both learning methods write, per home they fit with at least ``min_days`` of history::

    left_on.hours = longest burn x lamp_margin + lamp_pad_h, rounded up to half hours,
                    at least lamp_min_hours, written only where under the configured hours

where the *longest burn* is the longest time, over the history, that a load stayed on
through a silence of the home: from the later of the silence's start and the load's
switch-on to the end of the run. It is read off the detector's own state in the same replay
that finds the history's activity (the quiet level and the run of a load left on,
``detectors/state.py``, recorded per reading while learning), so what learning measures is
what the rule will count (a test holds the two together). Homes whose electricity is read less often
than every 30 minutes never show a load left on: they learn nothing here, nor do homes
whose lamp rule is off.

The configured hours are those of the layers under the households (defaults, tiers,
communities, grids): a learned file already included does not cap the next learning, so
a home whose evenings grew longer learns longer hours again. What is written pins the
home's lamp rule over those layers, like the learned ``hours`` and ``windows``: learn again
after changing the rule there. A gap in the readings cuts a run (the rule counts no load
across it either), so a history with a gap every evening measures its burns short.

Measured (``lifesign learn``'s ``rhythm`` on our simulator, seeds nothing was tuned on; the
benchmark's learned rows): median delay 3.79 -> 3.32 h (seed 16), 3.82 -> 2.94 h (18),
3.52 -> 3.21 h (20) with the same false alarms (0.26, 0.28, 0.23 a home-month); the
independent cohorts' learned false alarms 4.52 -> 4.63 a home-month (A) and 4.63 -> 4.66 (B),
with the same recall.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from detectors.state import LEFT_ON_MAX_INTERVAL_S
from lifesign.grid import UTILITY_CODES, Utility
from lifesign.readings import ReadingBatch
from lifesign.registry import Registry

F8 = npt.NDArray[np.float64]


def longest_burn_s(registry: Registry, history: ReadingBatch, act_h: npt.NDArray[np.int32], act_t: F8,
                   act_read: F8, left_on: tuple[npt.NDArray[np.int32], F8, F8]) -> F8:
    """Per household, the longest a load stayed on through one of its silences in ``history``
    (sorted by meter, then time, as learning replays it; seconds; 0 where a load never did; NaN where no electricity meter is read often enough
    to show one), from one replay of it (:func:`detectors.learn.replay_history`): its
    activities ``act_h``/``act_t`` (sorted by household, then time), when each was known
    (``act_read``), and ``left_on``, the (meter, time, run seconds) of every reading through
    which a load stayed on."""
    n = registry.n_households
    longest = np.full(n, np.nan)
    electric = np.flatnonzero(registry.meter_utility == UTILITY_CODES[Utility.ELECTRICITY])
    longest[np.unique(registry.meter_household[_fine_meters(history, electric)])] = 0.0
    meters, ts, run = left_on
    if not len(meters):
        return longest
    home = registry.meter_household[meters].astype(np.int64)
    # The silence began at the home's last activity known at that reading (the rule's anchor;
    # a switch-off read later is not known yet): activities by household in the order they
    # became known, the latest activity time so far, then one search over (household, time)
    # keys, exact in float64 (households x span < 2**53).
    t0 = float(min(ts.min(), act_t.min())) if len(act_t) else float(ts.min())
    span = float(max(ts.max(), act_read.max()) if len(act_read) else ts.max()) - t0 + 1.0
    order = np.lexsort((act_read, act_h))
    offset = act_h[order].astype(np.float64) * span
    latest = np.maximum.accumulate(act_t[order] - t0 + offset) - offset + t0  # households never mix: offsets
    k = np.searchsorted(offset + (act_read[order] - t0), home * span + (ts - t0), side="right") - 1
    found = (k >= 0) & (act_h[order][np.maximum(k, 0)] == home)
    anchor = np.where(found, latest[np.maximum(k, 0)], -np.inf)
    since = np.maximum(ts - run, anchor)
    np.fmax.at(longest, home, np.maximum(ts - since, 0.0))
    return longest


def learned_hours(longest_s: F8, configured_h: F8, margin: F8 | float, pad_h: float, min_hours: float) -> F8:
    """The lamp rule's hours from each home's longest burn; NaN where the configured hours
    stand (nothing seen to learn from, the rule off, or no shorter hours fit).

    >>> import numpy as np
    >>> learned_hours(np.array([3600.0, 0.0, 4 * 3600.0, np.nan, 3600.0, 5 * 3600.0]),
    ...               np.array([6.0, 6.0, 6.0, 6.0, 0.0, 6.0]), 1.25, 0.5, 3.0).tolist()
    [3.0, 3.0, 5.5, nan, nan, nan]
    """
    need = np.ceil((longest_s / 3600.0 * margin + pad_h) * 2.0) / 2.0
    hours = np.maximum(need, min_hours)
    # the rule off stays off, and a learned file only ever brings the lamp forward
    return np.where((configured_h > 0) & (hours < configured_h), hours, np.nan)


def _fine_meters(history: ReadingBatch, meters: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Those of ``meters`` whose readings in ``history`` (sorted by meter, then time) come at
    most 30 minutes apart (median)."""
    import pandas as pd

    m, ts = history.meter, history.ts
    same = m[1:] == m[:-1]
    median_gap = pd.Series(np.diff(ts)[same]).groupby(m[1:][same]).median()
    fine = median_gap.index[median_gap.to_numpy() <= LEFT_ON_MAX_INTERVAL_S].to_numpy()
    return np.intersect1d(meters, fine).astype(np.int64)
