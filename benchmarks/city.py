"""A city through two partitions on PostgreSQL, beside one embedded process, same run.

    .venv/bin/python benchmarks/city.py                          # 1M homes (2M meters), 90 s steady
    .venv/bin/python benchmarks/city.py --homes 200000 --seconds 60
    .venv/bin/python benchmarks/city.py --homes 2000 --seconds 5 --round-s 5   # a smoke run

Builds a city registry (``--homes`` homes with a water and an electricity meter each,
gateways of 480 meters, communities of 4,800 homes; smaller cities get smaller
communities), its first half of communities partition ``north``, the rest ``south``.
Starts PostgreSQL (initdb in a temporary folder), mosquitto and VictoriaMetrics on
127.0.0.1 and free ports, then runs two setups one after the other on the same data:

* **partitions**: two ``lifesign run --partition`` processes, orders in PostgreSQL,
  history in VictoriaMetrics;
* **embedded**: one ``lifesign run`` watching every home, orders in SQLite, history in
  the embedded store: the single-machine default.

Each setup gets the same load through mosquitto, in columnar gateway messages (QoS 1):

1. **steady**: every gateway but the burst district's sends its meters' readings once
   per ``--round-s`` wall seconds (900: real time, a 15-minute round of the city's meters
   spread evenly over 15 minutes, the city rate of about 2.2k readings/s at 1M homes;
   shorter compresses event time: the rate is printed), for ``--seconds``;
2. **backlog burst**: then one district (a community in ``north``) whose gateways were
   offline sends its whole day at once (96 rounds). ``--silent`` of its homes stopped
   using water and power two hours into that day, so each must get one no_usage order.

Printed per setup and partition: readings/s (steady: what was ingested over the window,
which equals the offered rate when ingest keeps up; burst: the district's readings over
the time from the first publish to the last stored), lag from publish to stored (p50,
p99; the stored counters on each process's ``/metrics``, polled every 50 ms), CPU per
reading (utime + stime from ``/proc/<pid>/stat`` of the service processes; the servers'
CPU beside it), and orders opened per second in PostgreSQL or SQLite after the burst.
The setups run one after the other (not at once), so neither takes CPU from the other;
the servers of the partition setup (PostgreSQL, VictoriaMetrics) share the same 2 cores.
Everything started is stopped at the end, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import sqlite3
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion

from lifesign.wire import encode_columnar, readings_topic
from simulators.cohort import Cohort, make_cohort

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "support"))
from brokers import free_port, run_mosquitto
from postgres import create_database, run_postgres
from running import RunningService
from victoria import run_victoria_metrics

ROUND_S = 900.0  # event time between a meter's readings
DAY_ROUNDS = 96
SILENT_AFTER_ROUNDS = 8  # a silent home used water and power for the first two hours of the day
HOMES_PER_GRID = 48  # make_cohort: 12 homes a building, 4 buildings a grid
POLL_S = 0.05
CLIENT_ID = "city"


@dataclass
class City:
    cohort: Cohort
    #: partition name -> its communities
    partitions: dict[str, list[str]]
    burst_community: str
    #: per gateway: its meter rows, the partition it belongs to, in the burst district or not
    gateway_meters: list[np.ndarray]
    gateway_partition: list[str]
    burst_gateways: list[int]
    silent_homes: np.ndarray


def build_city(homes: int, silent: int, seed: int) -> City:
    # communities of up to 4,800 homes (100 grids) and gateways of 480 meters (240 homes), so
    # that no gateway straddles two communities: a gateway's homes belong to one partition
    grids = max(1, min(100, homes // (HOMES_PER_GRID * 8)))
    if grids >= 5:
        grids -= grids % 5
    per_gateway = 480 if grids % 5 == 0 else 96
    cohort = make_cohort(homes, seed, grids_per_community=grids, meters_per_gateway=per_gateway)
    reg = cohort.registry
    communities = list(dict.fromkeys(reg.community.tolist()))
    if len(communities) < 2:
        raise SystemExit(f"--homes {homes} makes one community; two partitions need at least two")
    half = len(communities) // 2
    partitions = {"north": communities[:half], "south": communities[half:]}
    burst = communities[0]
    meter_community = reg.community[reg.meter_household]
    gateway_meters = [np.flatnonzero(reg.meter_gateway == g) for g in range(len(reg.gateway_ids))]
    gateway_partition = []
    for rows in gateway_meters:
        owners = {name for name, cs in partitions.items() if meter_community[rows[0]] in cs}
        gateway_partition.append(owners.pop())
    burst_gateways = [g for g, rows in enumerate(gateway_meters) if meter_community[rows[0]] == burst]
    # one silent home a building at most: several in one building look like a water or power cut
    # to the storm guard (an infrastructure order), and each must get its own welfare order here
    district = np.flatnonzero(reg.community == burst)
    _, one_a_building = np.unique(reg.building[district], return_index=True)
    rng = np.random.default_rng(seed)
    silent_homes = np.sort(rng.choice(district[one_a_building], size=min(silent, len(one_a_building)), replace=False))
    return City(cohort, partitions, burst, gateway_meters, gateway_partition, burst_gateways, silent_homes)


class Registers:
    """Every meter's register, advanced one 15-minute round at a time: water every hour
    (never for two hours straight: no continuous flow), electricity switching between
    200 W and 2.4 kW (a switch is activity); silent homes only a fridge's steady 50 W
    after their first rounds."""

    def __init__(self, city: City, seed: int) -> None:
        reg = city.cohort.registry
        rng = np.random.default_rng(seed + 1)
        self.values = np.round(rng.random(reg.n_meters) * 1000, 3)
        self.water = reg.meter_utility == 0
        self.phase = rng.integers(0, 4, size=reg.n_meters)
        self.silent_meter = np.isin(reg.meter_household, city.silent_homes)
        self.round = 0

    def advance(self) -> np.ndarray:
        step = np.where(self.water, np.where((self.round + self.phase) % 4 == 0, 0.012, 0.0),
                        0.05 if self.round % 2 else 0.6)
        if self.round >= SILENT_AFTER_ROUNDS:  # water still, the fridge's 50 W on (a register stuck
            # at zero for a day is a broken meter to the detector: a maintenance order besides)
            step = np.where(self.silent_meter, np.where(self.water, 0.0, 0.0125), step)
        self.values = np.round(self.values + step, 4)
        self.round += 1
        return self.values


@dataclass
class Message:
    topic: str
    payload: bytes
    readings: int
    partition: str
    #: wall seconds after the phase's start when it is due (0: at once)
    due: float = 0.0


def steady_messages(city: City, registers: Registers, t0: float, rounds: int, round_s: float) -> list[Message]:
    reg = city.cohort.registry
    ids = reg.meter_ids
    skip = set(city.burst_gateways)
    # gateways report in a seeded shuffled order: spread over the round, not partition by partition
    live = [g for g in np.random.default_rng(len(skip)).permutation(len(city.gateway_meters)).tolist() if g not in skip]
    out = []
    for k in range(rounds):
        values = registers.advance()
        for n, g in enumerate(live):
            rows = city.gateway_meters[g]
            payload = encode_columnar([str(m) for m in ids[rows]], t0 + k * ROUND_S, values[rows])
            out.append(Message(readings_topic(str(reg.gateway_ids[g])), payload, len(rows), city.gateway_partition[g],
                               due=(k + n / len(live)) * round_s))
    return out


def burst_messages(city: City, registers: Registers, day_start: float) -> list[Message]:
    """The district's day, each gateway's rounds in time order, published at once."""
    reg = city.cohort.registry
    ids = reg.meter_ids
    out = []
    for r in range(DAY_ROUNDS):
        values = registers.advance()
        for g in city.burst_gateways:
            rows = city.gateway_meters[g]
            out.append(Message(readings_topic(str(reg.gateway_ids[g])),
                               encode_columnar([str(m) for m in ids[rows]], day_start + r * ROUND_S, values[rows]),
                               len(rows), city.gateway_partition[g]))
    return out


# -- measuring ------------------------------------------------------------------------------
def cpu_s(pid: int, children: bool = False) -> float:
    """utime + stime of a process (and of its live and reaped children: PostgreSQL's backends)."""
    ticks = os.sysconf("SC_CLK_TCK")

    def own(p: int, reaped: bool) -> int:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            return 0
        return int(fields[11]) + int(fields[12]) + ((int(fields[13]) + int(fields[14])) if reaped else 0)

    total = own(pid, children)
    if children:
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                except (FileNotFoundError, ProcessLookupError, IndexError):
                    continue
                if ppid == pid:
                    total += own(int(entry.name), False)
    return total / ticks


def stored_total(metrics_url: str) -> int:
    with urllib.request.urlopen(metrics_url, timeout=5) as answer:
        for line in answer.read().decode().splitlines():
            if line.startswith("lifesign_ingest_readings_stored_total "):
                return int(float(line.split()[1]))
    return 0


class Poller:
    """Samples each process's stored counter and the order count, every POLL_S, in a thread."""

    def __init__(self, metrics: dict[str, str], count_orders: Callable[[], dict[str, int]]) -> None:
        self.metrics = metrics
        self.count_orders = count_orders
        self.stored: dict[str, list[tuple[float, int]]] = {name: [] for name in metrics}
        self.orders: list[tuple[float, int]] = []
        #: the last count, by rule
        self.by_rule: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        tick = 0
        while not self._stop.is_set():
            now = time.monotonic()
            for name, url in self.metrics.items():
                try:
                    self.stored[name].append((now, stored_total(url)))
                except OSError:
                    pass
            if tick % 4 == 0:  # orders every 0.2 s: a query on the store
                try:
                    self.by_rule = self.count_orders()
                    self.orders.append((time.monotonic(), sum(self.by_rule.values())))
                except (psycopg.Error, sqlite3.Error):
                    pass
            tick += 1
            self._stop.wait(POLL_S)

    def latest(self, name: str) -> int:
        samples = self.stored[name]
        return samples[-1][1] if samples else 0

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


@dataclass
class Published:
    """Per consumer: (wall time of the publish call, readings in the message), in order."""

    sent: dict[str, list[tuple[float, int]]] = field(default_factory=dict)

    def add(self, name: str, at: float, readings: int) -> None:
        self.sent.setdefault(name, []).append((at, readings))

    def total(self, name: str) -> int:
        return sum(n for _, n in self.sent.get(name, []))


def lags(sent: list[tuple[float, int]], stored: list[tuple[float, int]], base: int) -> np.ndarray:
    """Per reading, seconds from its message's publish to the first poll whose stored counter
    (less ``base``, what was stored before this phase) covers it."""
    if not sent:
        return np.zeros(0)
    pub_times = np.repeat([t for t, _ in sent], [n for _, n in sent])
    times = np.array([t for t, _ in stored])
    counts = np.array([c - base for _, c in stored])
    index = np.searchsorted(counts, np.arange(1, len(pub_times) + 1), side="left")
    done = index < len(times)
    out = np.full(len(pub_times), np.nan)
    out[done] = times[index[done]] - pub_times[done]
    return out


@dataclass
class PhaseResult:
    readings: dict[str, int]
    per_s: dict[str, float]
    lag_p50: dict[str, float]
    lag_p99: dict[str, float]
    cpu: dict[str, float]
    servers_cpu: float
    seconds: float
    #: from the phase's first publish to the last reading stored by any consumer
    seconds_to_last: float
    missing: dict[str, int]


# -- the setups -------------------------------------------------------------------------------
@dataclass
class Servers:
    broker_port: int
    victoria: str
    dsn: str
    pids: dict[str, tuple[int, bool]]  # name -> (pid, count its children)
    #: the registry and thresholds every setup reads
    shared: Path


def write_site(folder: Path, city: City, servers: Servers, *, partitioned: bool, metrics_port: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    registry = servers.shared / "registry"
    thresholds = servers.shared / "thresholds.yaml"
    common = (f"broker: {{host: 127.0.0.1, port: {servers.broker_port}, client_id: {CLIENT_ID}, keepalive_s: 30}}\n"
              f"registry: {{households: {registry}/households.csv, meters: {registry}/meters.csv}}\n"
              f"roster: {registry}/roster.yaml\nthresholds: {thresholds}\ndata_dir: {folder / 'var'}\n"
              "schedule: {sweep_s: 5, escalation_s: 30, reload_s: 3600, status_s: 1}\n"
              f"metrics: {{host: 127.0.0.1, port: {metrics_port}}}\n"
              "dispatch: {console: false}\n")
    if partitioned:
        parts = "".join(f"  {name}: {{communities: [{', '.join(cs)}], lease_s: 15}}\n"
                        for name, cs in city.partitions.items())
        text = common + (f"history: {{kind: influx, influx: {{url: '{servers.victoria}', bucket: city}}}}\n"
                         f"orders: {{store: postgres, dsn: '{servers.dsn}', pool_size: 4}}\n"
                         f"partitions:\n{parts}")
    else:
        text = common + "history: {kind: embedded}\n"
    (folder / "site.yaml").write_text(text)
    return folder / "site.yaml"


@dataclass
class Setup:
    name: str
    #: consumer name (partition, or "all") -> (process, /metrics URL)
    consumers: dict[str, tuple[RunningService, str]]
    count_orders: Callable[[], dict[str, int]]
    client_ids: list[str]

    def consumer_of(self, partition: str) -> str:
        return partition if partition in self.consumers else "all"


@contextmanager
def start_setup(name: str, folder: Path, city: City, servers: Servers) -> Iterator[Setup]:
    consumers: dict[str, tuple[RunningService, str]] = {}
    try:
        if name == "partitions":
            for part in city.partitions:
                port = free_port()
                site = write_site(folder / part, city, servers, partitioned=True, metrics_port=port)
                consumers[part] = (RunningService(site, "--partition", part, "--data-dir", str(folder / part / "var")),
                                   f"http://127.0.0.1:{port}/metrics")
            dsn = servers.dsn

            def count() -> dict[str, int]:
                with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as db:
                    try:
                        rows = db.execute("SELECT rule, count(*) FROM orders GROUP BY rule").fetchall()
                    except psycopg.errors.UndefinedTable:
                        return {}
                return {str(rule): int(n) for rule, n in rows}
            client_ids = [f"{CLIENT_ID}-{p}" for p in city.partitions]
        else:
            port = free_port()
            site = write_site(folder / "embedded", city, servers, partitioned=False, metrics_port=port)
            consumers["all"] = (RunningService(site), f"http://127.0.0.1:{port}/metrics")
            db_file = folder / "embedded" / "var" / "orders.sqlite"

            def count() -> dict[str, int]:
                if not db_file.exists():
                    return {}
                with sqlite3.connect(f"file:{db_file}?mode=ro", uri=True, timeout=5) as db:
                    try:
                        rows = db.execute("SELECT rule, count(*) FROM orders GROUP BY rule").fetchall()
                    except sqlite3.OperationalError:
                        return {}
                return {str(rule): int(n) for rule, n in rows}
            client_ids = [CLIENT_ID]
        began = time.monotonic()
        for consumer, (proc, _) in consumers.items():
            while proc.first_line("lifesign running") is None:
                if proc.proc.poll() is not None:
                    raise RuntimeError(f"{name} {consumer} exited:\n{proc.output[-3000:]}")
                if time.monotonic() - began > 1800:
                    raise RuntimeError(f"{name} {consumer} not running after 30 min:\n{proc.output[-3000:]}")
                time.sleep(0.2)
        print(f"  {name}: running {time.monotonic() - began:.1f} s after start", flush=True)
        yield Setup(name, consumers, count, client_ids)
    finally:
        for proc, _ in consumers.values():
            code = proc.stop()
            if code != 0:
                print(f"  {name}: a process exited with {code}:\n{proc.output[-2000:]}", flush=True)


def forget_sessions(port: int, client_ids: list[str]) -> None:
    """Clear the stopped setup's persistent sessions, or the broker queues the next setup's load for them."""
    for client_id in client_ids:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True,
                             protocol=mqtt.MQTTv311)
        client.connect("127.0.0.1", port)
        client.loop_start()
        time.sleep(0.3)
        client.loop_stop()
        client.disconnect()


class Gateways:
    def __init__(self, port: int) -> None:
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="city-gateways", protocol=mqtt.MQTTv311)
        self.client.max_inflight_messages_set(100)
        self.client.max_queued_messages_set(0)
        self.client.connect("127.0.0.1", port, keepalive=60)
        self.client.loop_start()

    def publish(self, messages: list[Message], setup: Setup, published: Published) -> float:
        """Each message at its due time (after the call); returns when the last was confirmed."""
        start = time.monotonic()
        infos = []
        for m in messages:
            wait = start + m.due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            at = time.monotonic()
            infos.append(self.client.publish(m.topic, m.payload, qos=1))
            published.add(setup.consumer_of(m.partition), at, m.readings)
        for info in infos:
            info.wait_for_publish(timeout=600)
        return time.monotonic()

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def run_phase(setup: Setup, servers: Servers, gateways: Gateways, messages: list[Message],
              poller: Poller, drain_timeout_s: float) -> PhaseResult:
    published = Published()
    window = max(m.due for m in messages)  # steady: the window's length; a burst: 0
    base = {c: poller.latest(c) for c in setup.consumers}
    cpu0 = {c: cpu_s(proc.proc.pid) for c, (proc, _) in setup.consumers.items()}
    servers0 = sum(cpu_s(pid, kids) for pid, kids in servers.pids.values())
    began = time.monotonic()
    gateways.publish(messages, setup, published)
    deadline = time.monotonic() + drain_timeout_s
    while any(poller.latest(c) - base[c] < published.total(c) for c in setup.consumers):
        if time.monotonic() > deadline:
            break
        time.sleep(POLL_S)
    time.sleep(2 * POLL_S)
    ended = time.monotonic()
    cpu = {c: cpu_s(proc.proc.pid) - cpu0[c] for c, (proc, _) in setup.consumers.items()}
    servers_cpu = sum(cpu_s(pid, kids) for pid, kids in servers.pids.values()) - servers0
    readings, per_s, p50, p99, missing = {}, {}, {}, {}, {}
    for c in setup.consumers:
        sent = published.sent.get(c, [])
        lag = lags(sent, list(poller.stored[c]), base[c])
        done = ~np.isnan(lag)
        readings[c], missing[c] = len(lag), int(np.sum(~done))
        if not done.any():
            per_s[c] = p50[c] = p99[c] = math.nan
            continue
        # over the phase: from its first publish to this consumer's last reading stored
        stored_at = np.repeat([t for t, _ in sent], [n for _, n in sent])[done] + lag[done]
        per_s[c] = int(np.sum(done)) / max(float(np.max(stored_at)) - began, window, 1e-9)
        p50[c], p99[c] = float(np.percentile(lag[done], 50)), float(np.percentile(lag[done], 99))
    to_last = max((readings[c] - missing[c]) / per_s[c] for c in setup.consumers if readings[c] - missing[c] > 0) \
        if any(readings[c] - missing[c] > 0 for c in setup.consumers) else math.nan
    return PhaseResult(readings, per_s, p50, p99, cpu, servers_cpu, ended - began, to_last, missing)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--homes", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=90.0, help="the steady window, wall seconds")
    parser.add_argument("--round-s", type=float, default=900.0,
                        help="wall seconds per 15-minute round of every meter (900: real time)")
    parser.add_argument("--silent", type=int, default=100, help="homes of the burst district that fall silent")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--setups", default="partitions,embedded")
    parser.add_argument("--orders-timeout", type=float, default=180.0)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _interrupt)  # stopped like Ctrl-C: every server and process is stopped

    began = time.monotonic()
    city = build_city(args.homes, args.silent, args.seed)
    reg = city.cohort.registry
    print(f"city: {len(reg.household_ids):,} homes, {reg.n_meters:,} meters, {len(reg.gateway_ids):,} gateways, "
          f"{len(set(reg.community.tolist())):,} communities "
          f"(north {len(city.partitions['north'])}, south {len(city.partitions['south'])}); burst district "
          f"{city.burst_community} ({len(city.burst_gateways)} gateways), {len(city.silent_homes)} silent homes; "
          f"built in {time.monotonic() - began:.0f} s", flush=True)
    rounds = max(1, math.ceil(args.seconds / args.round_s))
    rate = reg.n_meters / args.round_s
    results: dict[str, dict[str, PhaseResult]] = {}
    orders: dict[str, tuple[int, float, float, dict[str, int]]] = {}
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="lifesign-city-")))
        t = time.monotonic()
        city.cohort.write(folder / "registry")
        (folder / "thresholds.yaml").write_text(
            resources.files("app").joinpath("defaults/thresholds.yaml").read_text(encoding="utf-8"))
        print(f"registry written in {time.monotonic() - t:.0f} s", flush=True)
        broker_port = free_port()
        mosquitto = stack.enter_context(run_mosquitto(broker_port, folder / "mosquitto"))
        vm = stack.enter_context(run_victoria_metrics(free_port(), folder / "vm"))
        pg = stack.enter_context(run_postgres(free_port()))
        dsn = create_database(pg, "city")
        pg_pid = int((pg.folder / "data" / "postmaster.pid").read_text().split()[0])
        vm_pid = int(next(p for p in Path("/proc").iterdir() if p.name.isdigit() and _cmd(p).startswith(
            "victoria-metrics") and str(folder / "vm") in _cmd(p, full=True)).name)
        servers = Servers(broker_port, vm.url, dsn, {"mosquitto": (mosquitto.pid, False),
                                                     "victoria": (vm_pid, False), "postgres": (pg_pid, True)}, folder)
        gateways = Gateways(broker_port)
        stack.callback(gateways.close)
        for name in args.setups.split(","):
            # the same data for each setup, event time from now on
            registers = Registers(city, args.seed)
            t0 = float(int(time.time()) // 900 * 900) - (rounds - 1) * ROUND_S - ROUND_S
            steady = steady_messages(city, registers, t0, rounds, args.round_s)
            steady = [m for m in steady if m.due < args.seconds]
            burst = burst_messages(city, Registers(city, args.seed), t0 - DAY_ROUNDS * ROUND_S)
            print(f"{name}: steady {sum(m.readings for m in steady):,} readings in {len(steady):,} messages over "
                  f"{args.seconds:.0f} s ({rate:,.0f} readings/s offered), burst {sum(m.readings for m in burst):,} "
                  f"readings in {len(burst):,} messages", flush=True)
            with start_setup(name, folder / name, city, servers) as setup:
                poller = Poller({c: url for c, (_, url) in setup.consumers.items()}, setup.count_orders)
                try:
                    results[name] = {
                        "steady": run_phase(setup, servers, gateways, steady, poller, 300),
                    }
                    burst_at = time.monotonic()
                    results[name]["burst"] = run_phase(setup, servers, gateways, burst, poller, 1800)
                    wait_until = time.monotonic() + args.orders_timeout
                    while time.monotonic() < wait_until and poller.by_rule.get("no_usage", 0) < len(city.silent_homes):
                        time.sleep(0.2)
                    time.sleep(5.0)  # what else the burst opens (storms) settles
                    seen = [(at, n) for at, n in poller.orders if at >= burst_at]
                    n = seen[-1][1] if seen else 0
                    first = next((at for at, k in seen if k > 0), math.nan) - burst_at
                    last = next((at for at, k in seen if k >= n), math.nan) - burst_at
                    orders[name] = (n, first, last, dict(poller.by_rule))
                finally:
                    poller.stop()
            forget_sessions(broker_port, setup.client_ids)
            print(f"{name}: done", flush=True)
    report(args, city, rate, results, orders)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _cmd(p: Path, full: bool = False) -> str:
    try:
        parts = (p / "cmdline").read_bytes().split(b"\0")
    except (FileNotFoundError, ProcessLookupError):
        return ""
    return " ".join(x.decode(errors="replace") for x in parts) if full else Path(parts[0].decode()).name


def report(args: argparse.Namespace, city: City, rate: float, results: dict[str, dict[str, PhaseResult]],
           orders: dict[str, tuple[int, float, float, dict[str, int]]]) -> None:
    reg = city.cohort.registry
    print(f"\n{len(reg.household_ids):,} homes, {reg.n_meters:,} meters, {len(reg.gateway_ids):,} gateways; "
          f"steady {args.seconds:.0f} s at a 15-minute round every {args.round_s:.0f} wall s "
          f"({rate:,.0f} readings/s offered); burst: district {city.burst_community}'s day "
          f"({len(city.burst_gateways) * len(city.gateway_meters[city.burst_gateways[0]]) * DAY_ROUNDS:,} readings) "
          f"at once, {len(city.silent_homes)} silent homes")
    print(f"{'setup':<11} {'phase':<7} {'consumer':<9} {'readings':>10} {'readings/s':>11} {'lag p50':>9} "
          f"{'lag p99':>9} {'CPU µs/reading':>15} {'+ servers':>10} {'not stored':>10}")
    for name, phases in results.items():
        for phase, r in phases.items():
            total = sum(r.readings.values())
            for c in [c for c in r.readings if r.readings[c]]:
                per = r.cpu[c] / r.readings[c] * 1e6 if r.readings[c] else math.nan
                print(f"{name:<11} {phase:<7} {c:<9} {r.readings[c]:>10,} {r.per_s[c]:>11,.0f} {r.lag_p50[c]:>8.2f}s "
                      f"{r.lag_p99[c]:>8.2f}s {per:>15.1f} {'':>10} {r.missing[c]:>10,}")
            per = sum(r.cpu.values()) / total * 1e6 if total else math.nan
            servers = r.servers_cpu / total * 1e6 if total else math.nan
            rate_total = total / r.seconds_to_last if r.seconds_to_last > 0 else math.nan
            print(f"{name:<11} {phase:<7} {'total':<9} {total:>10,} {rate_total:>11,.0f} {'':>9} {'':>9} "
                  f"{per:>15.1f} {servers:>10.1f}")
    print(f"\n{'setup':<11} {'orders':>7} {'first after burst':>18} {'all after burst':>16} {'orders/s':>9}   "
          f"(expected {len(city.silent_homes)}: one no_usage order per silent home)")
    for name, (n, first, last, by_rule) in orders.items():
        rules = ", ".join(f"{rule} {k}" for rule, k in sorted(by_rule.items()))
        print(f"{name:<11} {n:>7} {first:>16.2f} s {last:>14.2f} s {n / last if last > 0 else math.nan:>9.1f}"
              f"   (first to last: {last - first:.2f} s; {rules})")


if __name__ == "__main__":
    main()
