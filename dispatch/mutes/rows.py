"""Rows of the SQL mute stores (SQLite, PostgreSQL) as absences, outages, tracked alerts
and storms: both select the same columns in the same order. ``"end"`` is quoted: it is
a reserved word in PostgreSQL (SQLite takes the quoted name too)."""

from __future__ import annotations

from typing import Any

from dispatch.absences import Absence, Outage, OutageScope
from dispatch.mutes.records import AlertFate, Storm, TrackedAlert
from dispatch.sql import json_column
from lifesign.alerts import EpisodeKey

ALERT_COLUMNS = ("household_id, rule, episode_start, severity, utilities, building, grid, community,"
                 " alert_at, first_seen, fate, reason, evidence")
STORM_COLUMNS = "storm_id, scope, area, rule, utilities, episode_start, opened_at, ended_at, end_reason"
ABSENCE_COLUMNS = 'absence_id, household_id, start, "end", reason, created_by, created_at, ended_at'
OUTAGE_COLUMNS = ('outage_id, scope, area, utilities, start, "end", reason, created_by, created_at,'
                  " ended_at")


def utilities_of(text: str) -> tuple[str, ...]:
    """
    >>> utilities_of("electricity,water"), utilities_of("")
    (('electricity', 'water'), ())
    """
    return tuple(u for u in text.split(",") if u)


def absence_from_row(r: tuple[Any, ...]) -> Absence:
    return Absence(int(r[0]), r[1], float(r[2]), float(r[3]), r[4], r[5], float(r[6]), r[7])


def outage_from_row(r: tuple[Any, ...]) -> Outage:
    return Outage(int(r[0]), OutageScope(r[1]), r[2], utilities_of(r[3]), float(r[4]), float(r[5]), r[6],
                  r[7], float(r[8]), r[9])


def tracked_from_row(r: tuple[Any, ...]) -> TrackedAlert:
    evidence = json_column(r[12])
    return TrackedAlert(EpisodeKey(r[0], r[1], float(r[2])), r[3], utilities_of(r[4]), r[5], r[6], r[7],
                        float(r[8]), float(r[9]), AlertFate(r[10]), r[11],
                        {k: float(v) for k, v in evidence.items()})


def storm_from_row(r: tuple[Any, ...]) -> Storm:
    return Storm(int(r[0]), r[1], r[2], r[3], utilities_of(r[4]), float(r[5]), float(r[6]), r[7], r[8])
