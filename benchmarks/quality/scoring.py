"""An independent scorer: alarms against ground truth, with pandas and numpy alone.

It never imports the detector (nor ``detectors.backtest.score``): the benchmark must not
grade lifesign with lifesign's own helpers. Its inputs are plain records.

Alarms are ``(household_id, opened_at, kind)`` with ``opened_at`` in epoch seconds and
``kind`` one of:

* ``no_usage``: a CRITICAL no-usage alert of lifesign (warnings are not passed in);
* ``fixed_rule``: the start of an episode of the fixed rule;
* ``continuous_flow``: water running on (red tier: a worker calls and goes to the door);
* ``abnormal_high``: a day's water far above the norm, never a welfare alarm.

Definitions:

* a *welfare alarm* is a ``no_usage``, ``fixed_rule`` or ``continuous_flow`` alarm: each
  sends a grid worker to the door, so each can catch an incident (a fall with the tap
  running is found by the flow) and each that opens on normal living is a false alarm;
* an incident is *caught* if a welfare alarm of its home opens in
  [start, start + 24 h]; its delay is alarm - start; one alarm catches one incident;
* an incident's window is [start, end], ``end`` missing: until the end of the data (the
  resident stays down), so no alarm after an incident's start is false;
* *normal living* is the test period minus every incident, leak, absence and
  explained window (illness, building cut, meter outage, a source artefact) of the
  home; a welfare alarm that opens there is a *false alarm*, and the rate is false
  alarms / home-months of normal living (a month is 30 days);
* an absence *got an alarm* if a welfare alarm of its home opens in [start, end] or opened
  before and is still open at its start; such an alarm is the absence's, never a false alarm;
* a welfare alarm inside an explained window counts under that window's cause;
* ``continuous_flow`` alarms on normal living are also shown per home-month apart (a part
  of the false alarms, not more of them);
* a leak is caught by a ``continuous_flow`` or ``abnormal_high`` alarm opened in its window.

Precedence for an alarm inside several windows: incident, absence, explained, leak.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

WELFARE_KINDS = ("no_usage", "fixed_rule", "continuous_flow")
FLOW_KIND = "continuous_flow"
LEAK_ALARM_KINDS = ("continuous_flow", "abnormal_high")
CATCH_WINDOW_S = 24 * 3600.0
MONTH_S = 30 * 86400.0
H = 3600.0


@dataclass
class QualityScore:
    incidents: int = 0
    caught: int = 0
    delays_h: list[float] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)
    #: (caught, incidents) with the light left on / off; None where the truth does not say
    light_on: tuple[int, int] | None = None
    light_off: tuple[int, int] | None = None
    normal_home_months: float = 0.0
    false_alarms: int = 0
    flow_alarms: int = 0
    absences: int = 0
    absences_alarmed: int = 0
    #: welfare alarms inside an explained window, by cause
    explained: dict[str, int] = field(default_factory=dict)
    leaks: int = 0
    leaks_caught: int = 0

    @property
    def recall(self) -> float:
        return self.caught / self.incidents if self.incidents else float("nan")

    @property
    def median_delay_h(self) -> float:
        return float(np.median(self.delays_h)) if self.delays_h else float("nan")

    @property
    def p90_delay_h(self) -> float:
        return float(np.quantile(self.delays_h, 0.9)) if self.delays_h else float("nan")

    @property
    def false_alarms_per_home_month(self) -> float:
        return self.false_alarms / self.normal_home_months if self.normal_home_months else float("nan")

    @property
    def flow_alarms_per_home_month(self) -> float:
        return self.flow_alarms / self.normal_home_months if self.normal_home_months else float("nan")

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for name in ("recall", "median_delay_h", "p90_delay_h", "false_alarms_per_home_month",
                     "flow_alarms_per_home_month"):
            out[name] = getattr(self, name)
        return out


def alarms_frame(records: Iterable[tuple[str, float, str] | tuple[str, float, str, float]]) -> pd.DataFrame:
    """Alarm records as a frame with columns household_id, opened_at, kind, closed_at (inf:
    still open at the end; NaN: not known, when a record leaves it out)."""
    rows = [(*r, np.nan) if len(r) == 3 else r for r in records]
    frame = pd.DataFrame(rows, columns=["household_id", "opened_at", "kind", "closed_at"])
    frame["household_id"] = frame["household_id"].astype(str)
    frame["opened_at"] = frame["opened_at"].astype(float)
    frame["closed_at"] = frame["closed_at"].astype(float)
    return frame


def windows_frame(frame: pd.DataFrame | None, end_of_data: float) -> pd.DataFrame:
    """household_id, start, end (a missing or infinite end: the end of the data), cause."""
    if frame is None or not len(frame):
        return pd.DataFrame({"household_id": pd.Series(dtype=str), "start": pd.Series(dtype=float),
                             "end": pd.Series(dtype=float), "cause": pd.Series(dtype=str)})
    out = frame.copy()
    out["household_id"] = out["household_id"].astype(str)
    out["start"] = pd.to_numeric(out["start"]).astype(float)
    end = pd.to_numeric(out["end"], errors="coerce").astype(float) if "end" in out.columns \
        else pd.Series(np.nan, index=out.index)
    out["end"] = end.where(np.isfinite(end), end_of_data)
    if "cause" not in out.columns:
        out["cause"] = out["kind"].astype(str) if "kind" in out.columns else ""
    return out.reset_index(drop=True)


def covered_s(intervals: list[tuple[float, float]], lo: float, hi: float) -> float:
    """Seconds of [lo, hi) covered by the union of ``intervals``."""
    clipped = sorted((max(a, lo), min(b, hi)) for a, b in intervals if b > lo and a < hi)
    total, reach = 0.0, lo
    for a, b in clipped:
        if b > reach:
            total += b - max(a, reach)
            reach = b
    return total


def _inside(times: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """For each time, whether any [start, end] holds it."""
    if not len(starts) or not len(times):
        return np.zeros(len(times), dtype=bool)
    return np.asarray(((times[:, None] >= starts[None, :]) & (times[:, None] <= ends[None, :])).any(axis=1))


def score(alarms: pd.DataFrame | Iterable[tuple[str, float, str]], *, households: Iterable[str],
          start: float, end: float, incidents: pd.DataFrame | None = None,
          absences: pd.DataFrame | None = None, explained: pd.DataFrame | None = None,
          leaks: pd.DataFrame | None = None) -> QualityScore:
    """Score the alarms opened in the test period [start, end) of ``households``.

    ``incidents``: household_id, start[, end, light_on] (welfare incidents);
    ``absences``: household_id, start, end; ``explained``: household_id, start, end, cause;
    ``leaks``: household_id, start[, end]."""
    frame = alarms if isinstance(alarms, pd.DataFrame) else alarms_frame(alarms)
    frame = frame[(frame["opened_at"] >= start) & (frame["opened_at"] < end)]
    homes = [str(h) for h in households]
    inc, ab = windows_frame(incidents, end), windows_frame(absences, end)
    ex, lk = windows_frame(explained, end), windows_frame(leaks, end)
    inc = inc[(inc["start"] >= start) & (inc["start"] < end)].sort_values(["start", "household_id"])
    ab = ab[(ab["end"] > start) & (ab["start"] < end)]
    lk = lk[(lk["start"] >= start) & (lk["start"] < end)]
    result = QualityScore()
    welfare = frame[frame["kind"].isin(WELFARE_KINDS)].sort_values("opened_at")
    used: set[int] = set()

    # recall and delay: the first unused welfare alarm of the home within 24 h of the start
    by_light: dict[bool, list[int]] = {True: [0, 0], False: [0, 0]}
    has_light = "light_on" in inc.columns and inc["light_on"].notna().all() and len(inc) > 0
    for row in inc.itertuples(index=False):
        result.incidents += 1
        mine = welfare[(welfare["household_id"] == row.household_id) & (welfare["opened_at"] >= row.start)
                       & (welfare["opened_at"] <= row.start + CATCH_WINDOW_S) & ~welfare.index.isin(used)]
        light = _truthy(row.light_on) if has_light else None
        if light is not None:
            by_light[light][1] += 1
        if not len(mine):
            result.missed.append(f"{row.household_id} at {row.start:.0f}")
            continue
        used.add(mine.index[0])
        result.caught += 1
        result.delays_h.append((float(mine["opened_at"].iloc[0]) - row.start) / H)
        if light is not None:
            by_light[light][0] += 1
    if has_light:
        result.light_on, result.light_off = tuple(by_light[True]), tuple(by_light[False])  # type: ignore[assignment]

    # classify every other welfare alarm and every flow alarm by the windows it opened in
    windows_of = {name: w.groupby("household_id") for name, w in (("inc", inc), ("ab", ab), ("ex", ex), ("lk", lk))}
    for household, mine in frame.groupby("household_id"):
        spans = {name: (g.get_group(household) if household in g.groups else None) for name, g in windows_of.items()}

        def inside(name: str, times: np.ndarray, spans: dict[str, pd.DataFrame | None] = spans) -> np.ndarray:
            w = spans[name]
            return _inside(times, w["start"].to_numpy(), w["end"].to_numpy()) if w is not None \
                else np.zeros(len(times), dtype=bool)

        w_mine = welfare[(welfare["household_id"] == household) & ~welfare.index.isin(used)]
        t = w_mine["opened_at"].to_numpy()
        in_inc, in_ab, in_ex, in_lk = (inside(n, t) for n in ("inc", "ab", "ex", "lk"))
        # an alarm still open when an absence begins is that absence's alarm (below it counts
        # as the absence's): the silence it opened on is the absence's start, seen before the
        # absence finder's rules (36 h, a 40 W rise) let it begin; never also a false alarm
        if spans["ab"] is not None:
            in_ab |= _open_when(t, _closed(w_mine), spans["ab"]["start"].to_numpy()).any(axis=1)
        if spans["ex"] is not None:
            ex_w = spans["ex"]
            for k in np.flatnonzero(~in_inc & ~in_ab & in_ex):
                hit = ex_w[(ex_w["start"] <= t[k]) & (ex_w["end"] >= t[k])]
                cause = str(hit["cause"].iloc[0])
                result.explained[cause] = result.explained.get(cause, 0) + 1
        n_leak = int((~in_inc & ~in_ab & ~in_ex & in_lk).sum())
        if n_leak:
            result.explained["leak"] = result.explained.get("leak", 0) + n_leak
        false = ~in_inc & ~in_ab & ~in_ex & ~in_lk
        result.false_alarms += int(false.sum())
        result.flow_alarms += int((false & (w_mine["kind"] == FLOW_KIND).to_numpy()).sum())

    # absences: alarmed if a welfare alarm of the home opened inside, or one opened before is
    # still open when it starts (one silence the absence finder split at a blip the detector
    # saw no activity in: a worker is already on it)
    result.absences = len(ab)
    for row in ab.itertuples(index=False):
        mine = welfare[welfare["household_id"] == row.household_id]
        t = mine["opened_at"].to_numpy()
        alarmed = ((t >= row.start) & (t <= row.end)) | _open_when(t, _closed(mine), np.array([row.start]))[:, 0]
        result.absences_alarmed += int(alarmed.any())

    leak_alarms = frame[frame["kind"].isin(LEAK_ALARM_KINDS)]
    result.leaks = len(lk)
    for row in lk.itertuples(index=False):
        t = leak_alarms[leak_alarms["household_id"] == row.household_id]["opened_at"].to_numpy()
        result.leaks_caught += int(((t >= row.start) & (t <= row.end)).any())

    # home-months of normal living: the test period minus every window of the home
    spans_all = pd.concat([w[["household_id", "start", "end"]] for w in (inc, ab, ex, lk)])
    grouped = {h: list(zip(g["start"], g["end"], strict=True)) for h, g in spans_all.groupby("household_id")}
    normal_s = sum((end - start) - covered_s(grouped.get(h, []), start, end) for h in homes)
    result.normal_home_months = normal_s / MONTH_S
    return result


def _closed(alarms: pd.DataFrame) -> np.ndarray:
    """When each alarm cleared (inf: still open; NaN: not known)."""
    return alarms["closed_at"].to_numpy() if "closed_at" in alarms else np.full(len(alarms), np.nan)


def _open_when(opened: np.ndarray, closed: np.ndarray, begins: np.ndarray) -> np.ndarray:
    """[alarm, absence]: whether the alarm opened before the absence began and was still open
    then (a NaN close, not known, never is)."""
    with np.errstate(invalid="ignore"):
        return (opened[:, None] < begins[None, :]) & (closed[:, None] > begins[None, :])


def _truthy(value: object) -> bool:
    return str(value).strip().lower() in ("true", "1", "yes")


def combine(scores: Iterable[QualityScore]) -> QualityScore:
    """One score over several runs (the simulator's seeds): counts add, delays pool."""
    out = QualityScore()
    light: dict[str, list[int] | None] = {"light_on": None, "light_off": None}
    for s in scores:
        for name in ("incidents", "caught", "false_alarms", "flow_alarms", "absences", "absences_alarmed",
                     "leaks", "leaks_caught"):
            setattr(out, name, getattr(out, name) + getattr(s, name))
        out.normal_home_months += s.normal_home_months
        out.delays_h += s.delays_h
        out.missed += s.missed
        for cause, n in s.explained.items():
            out.explained[cause] = out.explained.get(cause, 0) + n
        for name, total in light.items():
            pair = getattr(s, name)
            if pair is not None:
                light[name] = [(total or [0, 0])[0] + pair[0], (total or [0, 0])[1] + pair[1]]
    out.light_on = tuple(light["light_on"]) if light["light_on"] else None  # type: ignore[assignment]
    out.light_off = tuple(light["light_off"]) if light["light_off"] else None  # type: ignore[assignment]
    return out
