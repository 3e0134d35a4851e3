"""The population prior a home's own silences are shrunk toward.

Two layers: the homes being learned (their silences pooled: the city's own habits), and
a prior shipped with the code for a new city or a handful of homes. The shipped prior is
the pooled silences of 900 simulated homes (lifesign's simulator, seeds 1-3, 300 homes x
60 days each; regenerate with ``python benchmarks/learn_prior.py``), never of evaluation
data. A home's tables are then (n x own + k x prior) / (n + k) for n days of history: with
two weeks the prior weighs about as much as the home, so a fortnight of short silences
cannot produce a 2 h threshold.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
import numpy.typing as npt

from detectors.learning.silences import HOURS, LENGTHS_H

F8 = npt.NDArray[np.float64]
PRIOR_FILE = "prior_simulated.json"


@dataclass(frozen=True)
class Prior:
    """Per home-day: silences longer than each length by start hour (24 x lengths), and
    silences started per hour (how much the home is up then)."""

    exceed_per_day: F8
    starts_per_day: F8
    #: what it was made from, for reasons and docs
    source: str = ""


@cache
def shipped_prior() -> Prior:
    raw = json.loads(resources.files("detectors.learning").joinpath(PRIOR_FILE).read_text(encoding="utf-8"))
    exceed = np.asarray(raw["exceed_per_day"], dtype=np.float64)
    if exceed.shape != (HOURS, len(LENGTHS_H)) or raw["lengths_h"] != LENGTHS_H.tolist():
        raise ValueError(f"{PRIOR_FILE}: expected {HOURS} start hours x {len(LENGTHS_H)} lengths")
    return Prior(exceed, np.asarray(raw["starts_per_day"], dtype=np.float64), str(raw["source"]))


def prior_json(prior: Prior) -> str:
    """The shipped prior file's text (rounded: it is a prior, not a measurement)."""
    return json.dumps({
        "source": prior.source,
        "lengths_h": LENGTHS_H.tolist(),
        "starts_per_day": [round(float(v), 4) for v in prior.starts_per_day],
        "exceed_per_day": [[round(float(v), 5) for v in row] for row in prior.exceed_per_day],
    }, separators=(",", ":")) + "\n"


def pooled(exceed: F8, starts: F8, days: F8, shipped: Prior, homes_weight: float) -> Prior:
    """The population prior: the homes' pooled silences per home-day, mixed with the shipped
    prior as if it were ``homes_weight`` more homes (a big city outweighs it, three homes not).

    ``exceed``: (home, 24, lengths) counts; ``starts``: (home, 24); ``days``: (home,)."""
    total_days = float(days.sum())
    homes = float((days > 0).sum())
    if total_days <= 0:
        return shipped
    share = homes / (homes + homes_weight)
    return Prior(share * exceed.sum(axis=0) / total_days + (1 - share) * shipped.exceed_per_day,
                 share * starts.sum(axis=0) / total_days + (1 - share) * shipped.starts_per_day,
                 f"{homes:.0f} homes pooled, weight {share:.2f}; shipped prior {1 - share:.2f}")


def shrunk(own: F8, days: F8, prior: F8, prior_days: float) -> F8:
    """Per home-day rates, empirical Bayes: (n x own + k x prior) / (n + k) for n days.

    ``own`` holds counts (home first axis), ``prior`` per-day rates."""
    n = days.reshape((-1,) + (1,) * (own.ndim - 1))
    return (own + prior_days * prior[None]) / (n + prior_days)
