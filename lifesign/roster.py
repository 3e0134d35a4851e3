"""Who covers which part of the grid, and who is on duty when.

``roster.yaml``::

    # shifts and leave are in the site's local time (site.yaml `timezone:`)
    workers:
      - id: gw-zhang            # unique
        name: Zhang Wei
        role: grid_worker        # grid_worker | grid_leader | duty_desk | maintenance
        phone: "+86 138 0000 0001"
        buildings: [B001, B002]  # grid workers cover buildings
        backup: gw-zhao          # takes over while gw-zhang is off duty (optional)
        shifts:                  # when on duty, local time; none listed = always
          - {days: [mon, tue, wed, thu, fri], from: "08:00", to: "20:00"}
          - {days: [sat], from: "20:00", to: "08:00"}   # crosses midnight into Sunday
        leave:                   # dates inclusive, or "YYYY-MM-DD HH:MM" instants
          - {from: "2026-11-20", to: "2026-11-22", reason: annual leave}
      - id: gl-li
        name: Li Na
        role: grid_leader
        phone: "+86 138 0000 0002"
        grids: [G01]             # grid leaders cover grids
      - id: desk-c1
        name: Community C1 duty desk
        role: duty_desk
        phone: "+86 21 0000 0000"
        communities: [C1]        # duty desks cover communities
      - id: mt-c1
        name: Meter maintenance C1
        role: maintenance        # covers communities, grids or buildings
        phone: "+86 21 0000 0001"
        communities: [C1]

Who answers an alert, level by level, is dispatch's policy (:mod:`dispatch.escalation`);
this module only reads and holds the roster.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import Path

from lifesign.clock import DEFAULT_TZ, fixed_offset, parse_timezone
from lifesign.config.errors import ConfigError
from lifesign.config.source import ConfigNode, load_yaml, parse_yaml
from lifesign.grid import Role, Worker

_WORKER_KEYS = ("id", "name", "role", "phone", "communities", "grids", "buildings", "backup",
                "shifts", "leave")
_COVERAGE_FIELD = {
    Role.GRID_WORKER: ("buildings",),
    Role.GRID_LEADER: ("grids",),
    Role.DUTY_DESK: ("communities",),
    Role.MAINTENANCE: ("communities", "grids", "buildings"),
}
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Shift:
    """Weekly on-duty hours; ``end_min <= start_min`` means it runs past midnight."""

    days: frozenset[int]  # 0 = Monday
    start_min: int
    end_min: int

    def covers(self, local: datetime) -> bool:
        """
        >>> night = Shift(frozenset({5}), 20 * 60, 8 * 60)  # Saturday 20:00 to Sunday 08:00
        >>> sat, sun = datetime(2026, 11, 21, 21, 0), datetime(2026, 11, 22, 7, 59)
        >>> night.covers(sat), night.covers(sun), night.covers(sun.replace(hour=8))
        (True, True, False)
        """
        minute = local.hour * 60 + local.minute
        day = local.weekday()
        if self.start_min < self.end_min:
            return day in self.days and self.start_min <= minute < self.end_min
        return (day in self.days and minute >= self.start_min) or (
            (day - 1) % 7 in self.days and minute < self.end_min)


@dataclass(frozen=True)
class Duty:
    #: empty: always on duty
    shifts: tuple[Shift, ...] = ()
    #: (start, end) epoch seconds, start <= t < end
    leave: tuple[tuple[float, float], ...] = ()
    backup: str | None = None


@dataclass(frozen=True)
class Roster:
    workers: dict[str, Worker]
    #: shifts, leave and backup per worker id; a worker without an entry is always on duty
    duty: dict[str, Duty] = field(default_factory=dict)
    #: local time of shifts and leave: the site's zone
    tz: tzinfo = DEFAULT_TZ

    # -- duty -----------------------------------------------------------------
    def on_duty(self, worker_id: str, at: float) -> bool:
        duty = self.duty.get(worker_id)
        if duty is None:
            return True
        if any(start <= at < end for start, end in duty.leave):
            return False
        if not duty.shifts:
            return True
        local = datetime.fromtimestamp(at, self.tz)
        return any(s.covers(local) for s in duty.shifts)

    def get(self, worker_id: str) -> Worker:
        try:
            return self.workers[worker_id]
        except KeyError:
            raise LookupError(f"No worker by the id of {worker_id!r} is in the roster") from None

    # -- loading --------------------------------------------------------------
    @classmethod
    def load(cls, path: str | Path, site_timezone: str | None = None, site_file: str = "site.yaml") -> Roster:
        """``site_timezone``: the zone site.yaml names; shifts and leave are read in it."""
        return cls.from_node(load_yaml(path, f"named by {site_file}'s roster:"), site_timezone, site_file)

    @classmethod
    def parse(cls, text: str, file: str = "<roster>", site_timezone: str | None = None,
              site_file: str = "site.yaml") -> Roster:
        return cls.from_node(parse_yaml(text, file), site_timezone, site_file)

    @classmethod
    def from_node(cls, root: ConfigNode, site_timezone: str | None = None, site_file: str = "site.yaml") -> Roster:
        top = root.mapping(["workers", "utc_offset_hours"], required=["workers"])
        tz = _zone(top["utc_offset_hours"], site_timezone, site_file) if "utc_offset_hours" in top \
            else parse_timezone(site_timezone) if site_timezone else DEFAULT_TZ
        workers: dict[str, Worker] = {}
        duty: dict[str, Duty] = {}
        backups: dict[str, ConfigNode] = {}
        for item in top["workers"].sequence():
            fields = item.mapping(_WORKER_KEYS, required=("id", "name", "role", "phone"))
            worker_id = fields["id"].string()
            if worker_id in workers:
                raise fields["id"].error(f"must be unique, got {worker_id!r} a second time")
            role = Role(fields["role"].choice([r.value for r in Role]))
            coverage = {k: tuple(fields[k].strings()) if k in fields else ()
                        for k in ("communities", "grids", "buildings")}
            needed = _COVERAGE_FIELD[role]
            if not any(coverage[k] for k in needed):
                raise item.error(f"is a {role.value} and must list the {' or '.join(needed)} it covers")
            workers[worker_id] = Worker(
                worker_id=worker_id, name=fields["name"].string(), role=role, phone=fields["phone"].string(),
                communities=coverage["communities"], grids=coverage["grids"], buildings=coverage["buildings"],
            )
            if "backup" in fields:
                backups[worker_id] = fields["backup"]
            if any(k in fields for k in ("backup", "shifts", "leave")):
                duty[worker_id] = Duty(
                    shifts=tuple(_shift(s) for s in fields["shifts"].sequence()) if "shifts" in fields else (),
                    leave=tuple(_leave(v, tz) for v in fields["leave"].sequence()) if "leave" in fields else (),
                    backup=fields["backup"].string() if "backup" in fields else None,
                )
        for worker_id, node in backups.items():
            backup = node.string()
            if backup == worker_id:
                raise node.error(f"must name another worker, got {worker_id!r} itself")
            if backup not in workers:
                raise node.error(f"must be the id of a worker in this roster, got {backup!r}")
        return cls(workers, duty, tz)

    def to_yaml_text(self) -> str:
        """Serialise workers and backups (simulators write the demo's roster with this)."""
        lines = ["workers:"]
        for w in self.workers.values():
            lines.append(f"  - id: {w.worker_id}")
            lines.append(f"    name: {w.name}")
            lines.append(f"    role: {w.role.value}")
            lines.append(f'    phone: "{w.phone}"')
            for key in ("communities", "grids", "buildings"):
                values = getattr(w, key)
                if values:
                    lines.append(f"    {key}: [{', '.join(values)}]")
            backup = self.duty.get(w.worker_id, Duty()).backup
            if backup:
                lines.append(f"    backup: {backup}")
        return "\n".join(lines) + "\n"


def _clock_minutes(node: ConfigNode) -> int:
    text = node.string()
    try:
        hours, minutes = (int(p) for p in text.split(":"))
    except ValueError:
        raise node.error(f"must be a time of day HH:MM, got {text!r}") from None
    if not (0 <= hours <= 24 and 0 <= minutes < 60) or hours * 60 + minutes > 24 * 60:
        raise node.error(f"must be a time of day from 00:00 to 24:00, got {text!r}")
    return hours * 60 + minutes


def _shift(node: ConfigNode) -> Shift:
    s = node.mapping(["days", "from", "to"], required=["from", "to"])
    days = frozenset(DAYS.index(d.choice(DAYS)) for d in s["days"].sequence()) if "days" in s else frozenset(range(7))
    start, end = _clock_minutes(s["from"]), _clock_minutes(s["to"])
    if start == end:
        raise node.error(f"must not start and end at the same time, got {s['from'].string()!r} for both")
    return Shift(days, start, end % (24 * 60) if end == 24 * 60 and start > 0 else end)


def _zone(node: ConfigNode, site_timezone: str | None, site_file: str) -> tzinfo:
    """The old per-roster ``utc_offset_hours``: kept readable, but local time has one source, so
    with a site it must be the site zone's offset all year round."""
    hours = node.number(ge=-12, le=14)
    if site_timezone is None:
        return timezone(timedelta(hours=hours))
    site_tz = parse_timezone(site_timezone)
    if fixed_offset(site_tz) != hours * 3600.0:
        raise node.error(f"is {hours:g}, but {site_file} sets timezone {site_timezone!r}: shifts and leave "
                         "follow the site's timezone, so remove utc_offset_hours from this file")
    return site_tz


def _instant(node: ConfigNode, tz: tzinfo, end_of_day: bool) -> float:
    text = node.string().strip()
    try:
        if len(text) == 10:
            day = datetime.fromisoformat(text).replace(tzinfo=tz)
            return (day + timedelta(days=1 if end_of_day else 0)).timestamp()
        return datetime.fromisoformat(text).replace(tzinfo=tz).timestamp()
    except ValueError:
        raise node.error(f"must be a date YYYY-MM-DD or a time YYYY-MM-DD HH:MM, got {text!r}") from None


def _leave(node: ConfigNode, tz: tzinfo) -> tuple[float, float]:
    v = node.mapping(["from", "to", "reason"], required=["from", "to"])
    start, end = _instant(v["from"], tz, False), _instant(v["to"], tz, True)
    if not end > start:
        raise node.error(f"must end after it starts, got from {v['from'].string()!r} to {v['to'].string()!r}")
    return start, end


__all__ = ["ConfigError", "Duty", "Roster", "Shift"]
