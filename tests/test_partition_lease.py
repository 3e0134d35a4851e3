"""A partition's lease in PostgreSQL: one holder at a time, taken only once lapsed or
released, renewed by its keeper; and `lifesign run --partition` fencing itself when its
lease is gone, taking it back when free, handing it over on a clean stop, and
`lifesign status` saying who holds what."""

from __future__ import annotations

import io
import re
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import redirect_stdout
from pathlib import Path

import psycopg
import pytest
from probes import eventually
from running import RunningService

from app.cli import main
from app.leases import PartitionLeases, Takeover
from app.partitions import PartitionSettings
from app.standby import LeaseKeeper

pytestmark = pytest.mark.postgres

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


@pytest.fixture
def leases(postgres_dsn: str) -> Iterator[PartitionLeases]:
    opened = PartitionLeases(postgres_dsn)
    yield opened
    opened.close()


def steal(dsn: str, partition: str, seconds: float) -> None:
    """Another holder's lease, written as an instance elsewhere would have it."""
    with psycopg.connect(dsn, autocommit=True) as db:
        db.execute("UPDATE partition_lease SET holder = 'elsewhere:1:x', epoch = epoch + 1,"
                   " deadline = now() + make_interval(secs => %s) WHERE partition = %s", (seconds, partition))


def test_one_holder_at_a_time_until_the_lease_lapses_or_is_released(leases: PartitionLeases) -> None:
    first = leases.acquire("north", "a", 1.0)
    assert first is not None and (first.record.holder, first.record.epoch, first.previous_holder) == ("a", 1, "")
    assert leases.acquire("north", "b", 1.0) is None
    assert leases.acquire("south", "b", 60.0) is not None  # partitions are independent
    assert leases.renew("north", "a", 1.0) and not leases.renew("north", "b", 1.0)
    taken: list[Takeover] = []

    def take() -> bool:
        takeover = leases.acquire("north", "b", 60.0)
        if takeover is not None:
            taken.append(takeover)
        return takeover is not None

    eventually(take, "b to take the lapsed lease")
    (takeover,) = taken
    assert (takeover.record.holder, takeover.record.epoch, takeover.previous_holder) == ("b", 2, "a")
    assert takeover.lapsed_s >= 0.0
    assert not leases.renew("north", "a", 1.0)  # a's lease is gone for good
    assert leases.acquire("north", "b", 60.0) is not None  # the holder asking again keeps it
    leases.release("north", "b")
    released = leases.acquire("north", "a", 60.0)  # no waiting for the deadline
    assert released is not None and released.previous_holder == "b"
    holders = {r.partition: (r.holder, r.held) for r in leases.all()}
    assert holders == {"north": ("a", True), "south": ("b", True)}


def test_standbys_asking_at_once_get_one_holder(leases: PartitionLeases, postgres_dsn: str) -> None:
    won: list[str] = []
    ready = threading.Barrier(4)

    def ask(name: str) -> None:
        mine = PartitionLeases(postgres_dsn)
        try:
            ready.wait()
            if mine.acquire("east", name, 60.0) is not None:
                won.append(name)
        finally:
            mine.close()

    threads = [threading.Thread(target=ask, args=(f"s{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1
    record = leases.get("east")
    assert record is not None and record.holder == won[0] and record.epoch == 1


def test_the_keeper_renews_and_notices_a_lease_taken_from_it(leases: PartitionLeases, postgres_dsn: str) -> None:
    partition = PartitionSettings("north", ("C1",), lease_s=3.0)
    takeover = leases.acquire("north", "me", partition.lease_s)
    assert takeover is not None
    keeper = LeaseKeeper(leases, partition, "me")
    keeper.start(time.monotonic())
    try:
        first = takeover.record.renewed_at
        eventually(lambda: (r := leases.get("north")) is not None and r.renewed_at > first, "a renewal")
        steal(postgres_dsn, "north", 60.0)
        eventually(keeper.expired, "the keeper to notice")
        assert keeper.reason == "the lease lapsed and another instance may hold it"
    finally:
        keeper.stop()


def write_site(folder: Path, broker_port: int, dsn: str) -> Path:
    shutil.copytree(CONFIGS / "registry", folder / "registry")
    for name in ("roster.yaml", "thresholds.yaml"):
        shutil.copy(CONFIGS / name, folder / name)
    (folder / "site.yaml").write_text(
        f"broker: {{host: 127.0.0.1, port: {broker_port}, client_id: lifesign, keepalive_s: 10}}\n"
        "registry: {households: registry/households.csv, meters: registry/meters.csv}\n"
        "roster: roster.yaml\nthresholds: thresholds.yaml\ndata_dir: var\n"
        "schedule: {status_s: 0.2}\ndispatch: {console: false}\n"
        f"orders: {{store: postgres, dsn: '{dsn}', pool_size: 2}}\n"
        "partitions: {north: {communities: [C1], lease_s: 2}}\n")
    return folder / "site.yaml"


def status_of(site: Path) -> tuple[int, str]:
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(["status", "-c", str(site)])
    return code, out.getvalue()


@pytest.mark.mosquitto
def test_an_instance_that_loses_its_lease_stops_watching_then_takes_it_back_when_free(
        tmp_path: Path, mosquitto_port: int, postgres_dsn: str) -> None:
    site = write_site(tmp_path, mosquitto_port, postgres_dsn)
    service = RunningService(site, "--partition", "north", "--data-dir", str(tmp_path / "a"))
    try:
        eventually(lambda: "lifesign running partition north" in service.output or service.proc.poll() is not None,
                   "the first holder running")
        assert service.proc.poll() is None, service.output
        code, text = status_of(site)
        assert code == 0 and re.search(rf"north +held by \S+:{service.proc.pid}:\S+ since .* epoch 1;", text), text

        steal(postgres_dsn, "north", 3600.0)  # as if this host had been cut off for longer than the lease
        eventually(lambda: "lost partition north" in service.output, "the holder to fence itself")
        assert "stopped ingest and dispatch, standing by" in service.output
        eventually(lambda: "standby for partition north: held by elsewhere:1:x" in service.output, "standing by")
        code, _ = status_of(site)
        assert code == 0  # still held, by the other holder

        with psycopg.connect(postgres_dsn, autocommit=True) as db:  # the other holder goes away
            db.execute("UPDATE partition_lease SET deadline = now() WHERE partition = 'north'")
        eventually(lambda: service.output.count("lifesign running partition north") == 2, "the lease taken back")
        assert "took over partition north (epoch 3) from elsewhere:1:x" in service.output, service.output
    finally:
        assert service.stop() == 0, service.output
    code, text = status_of(site)  # a clean stop released the lease
    assert code == 1 and re.search(r"north +NOT HELD: \S+'s lease lapsed", text), text


@pytest.mark.mosquitto
def test_a_clean_stop_hands_the_partition_to_the_standby_at_once(
        tmp_path: Path, mosquitto_port: int, postgres_dsn: str) -> None:
    site = write_site(tmp_path, mosquitto_port, postgres_dsn)
    active = RunningService(site, "--partition", "north", "--data-dir", str(tmp_path / "a"))
    standby = None
    try:
        eventually(lambda: "lifesign running partition north" in active.output or active.proc.poll() is not None,
                   "the first holder running")
        standby = RunningService(site, "--partition", "north", "--data-dir", str(tmp_path / "b"))
        eventually(lambda: "standby for partition north" in standby.output or standby.proc.poll() is not None,
                   "the standby waiting")
        out = io.StringIO()
        with redirect_stdout(out):
            assert main(["status", "--data-dir", str(tmp_path / "b")]) == 0
        assert re.match(r"this instance \(\S+\) stands by for partition north since ", out.getvalue()), out.getvalue()
        assert active.stop() == 0
        eventually(lambda: "lifesign running partition north" in standby.output, "the standby running")
        took = standby.first_line("took over partition north")
        assert took is not None and "(epoch 2) from " in took[1]
        eventually(lambda: "partition  north, held by this instance" in _status_text(tmp_path / "b"),
                   "the new holder's status.json")
    finally:
        active.stop()
        if standby is not None:
            assert standby.stop() == 0, standby.output


def _status_text(data_dir: Path) -> str:
    out = io.StringIO()
    with redirect_stdout(out):
        main(["status", "--data-dir", str(data_dir)])
    return out.getvalue()
