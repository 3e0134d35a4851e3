"""site.yaml ``partitions:``: exact errors for bad sections, the checks `lifesign run` and
`lifesign config check` share, and what one partition's service is built from."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from app.cli import main
from app.partitions import PartitionSettings, check_partitions, choose_partition
from app.service import ServiceParts
from app.site import SiteConfig
from lifesign.config.errors import ConfigError
from lifesign.grid import Address, Household, Meter, Resident, Tier, Utility
from lifesign.registry import Registry
from lifesign.wire import readings_topic

BASE = ("registry: {households: households.csv, meters: meters.csv}\nroster: roster.yaml\n"
        "thresholds: thresholds.yaml\ndata_dir: var\n")
PG = "orders: {store: postgres, dsn: 'postgresql://lifesign@db/lifesign'}\n"
ROSTER = "workers:\n  - {id: desk, name: Desk, role: duty_desk, phone: '+86 21 0000 0000', communities: [C1, C2, C3]}\n"


def city(shared_gateway: bool = False) -> Registry:
    """Communities C1 and C2 (gateways GW1, GW2) and C3 (GW3, or GW2 with ``shared_gateway``)."""
    homes = [(f"H{c}{i}", c) for c in ("C1", "C2", "C3") for i in range(2)]
    households = [Household(h, Address(c, f"G-{c}", f"B-{c}", "1", "101"), Resident("R", 80, "", ""), Tier.RED)
                  for h, c in homes]
    gateway = {"C1": "GW1", "C2": "GW2", "C3": "GW2" if shared_gateway else "GW3"}
    meters = [Meter(f"W{h}", h, Utility.WATER, gateway[c]) for h, c in homes]
    return Registry.from_records(households, meters)


def site_folder(folder: Path, text: str, shared_gateway: bool = False, thresholds: str = "") -> Path:
    city(shared_gateway).write(folder / "households.csv", folder / "meters.csv")
    (folder / "roster.yaml").write_text(ROSTER)
    (folder / "thresholds.yaml").write_text(
        resources.files("app").joinpath("defaults/thresholds.yaml").read_text(encoding="utf-8") + thresholds)
    (folder / "site.yaml").write_text(text)
    return folder / "site.yaml"


@pytest.mark.parametrize(("text", "message"), [
    (BASE + "partitions: {north: {communities: [C1]}}\n",
     "<site>:5: partitions need orders.store: postgres (the partitions' leases and their shared orders live there)"),
    (BASE + PG + "partitions: {north: {communities: [C1]}, south: {communities: [C2, C1]}}\n",
     ("<site>:6: partitions.south.communities names community 'C1', which partition 'north' has already: "
     "a community belongs to one partition")),
    (BASE + PG + "partitions: {north pole: {communities: [C1]}}\n",
     ("<site>:6: partitions.north pole is not a usable partition name (letters, digits, _ and -; it names MQTT "
     "client ids)")),
    (BASE + PG + "partitions: {north: {communities: []}}\n",
     "<site>:6: partitions.north.communities must name at least one community"),
    (BASE + PG + "partitions: {north: {communities: [C1], lease_s: 0.5}}\n",
     "<site>:6: partitions.north.lease_s must be >= 1, got 0.5"),
    (BASE + PG + "partitions: {north: {communties: [C1]}}\n",
     "<site>:6: partitions.north.communties is not a known key (did you mean 'communities'?)"),
])
def test_bad_partitions_sections_name_the_line_the_field_and_what_was_expected(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        SiteConfig.parse(text, Path("."))
    assert str(info.value) == message


def test_partitions_parse_with_their_leases() -> None:
    site = SiteConfig.parse(BASE + PG + "partitions:\n  north: {communities: [C1, C2], lease_s: 3}\n"
                                        "  south: {communities: C3}\n", Path("."))
    assert site.partitions == {"north": PartitionSettings("north", ("C1", "C2"), 3.0),
                               "south": PartitionSettings("south", ("C3",), 15.0)}


def test_the_registry_check_finds_unknown_communities_split_gateways_and_unwatched_homes() -> None:
    north, south = PartitionSettings("north", ("C1",)), PartitionSettings("south", ("C2", "C3"))
    assert check_partitions(city(), {"north": north, "south": south}) == []
    assert check_partitions(city(), {"north": north}) == [
        "community 'C2' is in no partition: no instance watches its homes",
        "community 'C3' is in no partition: no instance watches its homes"]
    with pytest.raises(LookupError, match="^partitions.north.communities: community 'C9' has no household in the "
                                          "registry$"):
        check_partitions(city(), {"north": PartitionSettings("north", ("C1", "C9"))})
    with pytest.raises(LookupError, match=r"^gateway 'GW2' serves homes in partitions north and south \(communities "
                                          r"C2, C3\): a gateway's readings topic belongs to one partition$"):
        check_partitions(city(shared_gateway=True), {"north": PartitionSettings("north", ("C1", "C2")),
                                                     "south": PartitionSettings("south", ("C3",))})


def test_run_and_config_check_refuse_a_gateway_split_between_partitions_alike(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site = site_folder(tmp_path, BASE + PG + "partitions: {north: {communities: [C1, C2]}, south: {communities: [C3]}}\n",
                       shared_gateway=True)
    assert main(["config", "check", str(site)]) == 2
    err = capsys.readouterr().err
    with pytest.raises(LookupError) as service_err:
        ServiceParts.from_site(SiteConfig.load(site), "north")
    assert "gateway 'GW2' serves homes in partitions north and south" in err
    assert str(service_err.value.args[0]) in err


def test_which_partition_an_instance_watches_is_said_on_its_command_line() -> None:
    partitions = {"north": PartitionSettings("north", ("C1",)), "south": PartitionSettings("south", ("C2",))}
    assert choose_partition(partitions, "south") == partitions["south"]
    assert choose_partition({}, None) is None
    with pytest.raises(LookupError, match=r"^site.yaml has partitions \(north, south\): say which one this instance "
                                          "watches with --partition NAME$"):
        choose_partition(partitions, None)
    with pytest.raises(LookupError, match=r"^No partition by the name of 'east' in site.yaml \(it has north, south\)$"):
        choose_partition(partitions, "east")
    with pytest.raises(LookupError, match="^--partition north: site.yaml has no partitions: section$"):
        choose_partition({}, "north")


def test_a_partitions_service_watches_its_communities_under_its_own_client_id(tmp_path: Path) -> None:
    # an override of a home of the other partition is that partition's, not an unknown home here
    thresholds = "households:\n  HC10: {no_usage: {hours: 8}}\n  HC30: {no_usage: {hours: 9}}\n"
    site = SiteConfig.load(site_folder(
        tmp_path, BASE + PG + "partitions: {north: {communities: [C1, C2]}, south: {communities: [C3]}}\n",
        thresholds=thresholds))
    north = ServiceParts.from_site(site, "north")
    assert list(north.registry.household_ids) == ["HC10", "HC11", "HC20", "HC21"]
    assert list(north.thresholds.households) == ["HC10"]
    assert north.broker.client_id == "lifesign-ingest-north"
    assert north.readings_topics == (readings_topic("GW1"), readings_topic("GW2"))
    south = ServiceParts.from_site(site, "south")
    assert list(south.registry.household_ids) == ["HC30", "HC31"] and south.readings_topics == (readings_topic("GW3"),)
    assert list(south.thresholds.households) == ["HC30"]
    unpartitioned = ServiceParts.from_site(SiteConfig.load(site_folder(tmp_path, BASE)))
    assert unpartitioned.registry.n_households == 6 and unpartitioned.readings_topics == ("lifesign/v1/readings/+",)
    assert unpartitioned.broker.client_id == "lifesign-ingest"
