"""site.yaml's ``partitions:`` section: which communities each instance watches.

A province is more than one process watches comfortably, and one process alone leaves
its homes unwatched while its machine is down. A partition is a named set of
communities; ``lifesign run --partition NAME`` watches only those homes (their
gateways' readings topics, their detector state, their sweeps), while orders, ledger,
outbox and mutes stay shared in PostgreSQL. One instance per partition holds its lease
(:mod:`app.leases`); a second one for the same partition waits as its standby::

    partitions:
      north:
        communities: [C1, C2]
        lease_s: 15                # how long the partition stays unwatched after its active dies, at most
                                   # (plus the standby's rebuild); renewed every lease_s / 3
      south:
        communities: [C3]

Partitions need ``orders: {store: postgres}``: the lease and the shared orders live there.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from lifesign.config.source import ConfigNode
from lifesign.registry import Registry

#: a partition's name goes into MQTT client ids and lease rows
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
DEFAULT_LEASE_S = 15.0


@dataclass(frozen=True)
class PartitionSettings:
    name: str
    communities: tuple[str, ...]
    #: a holder that has not renewed for this long has lost the partition to its standby
    lease_s: float = DEFAULT_LEASE_S


def parse_partitions(node: ConfigNode) -> dict[str, PartitionSettings]:
    partitions: dict[str, PartitionSettings] = {}
    owner: dict[str, str] = {}
    for name, child in node.mapping().items():
        if not _NAME.match(name):
            raise child.error("is not a usable partition name (letters, digits, _ and -; it names MQTT "
                              "client ids)")
        p = child.mapping(["communities", "lease_s"], required=["communities"])
        communities = p["communities"].strings()
        if not communities:
            raise p["communities"].error("must name at least one community")
        for community in communities:
            if community in owner:
                raise p["communities"].error(
                    f"names community {community!r}, which partition {owner[community]!r} has already: "
                    "a community belongs to one partition")
            owner[community] = name
        lease_s = p["lease_s"].number(ge=1, le=3600) if "lease_s" in p else DEFAULT_LEASE_S
        partitions[name] = PartitionSettings(name, tuple(communities), lease_s)
    if not partitions:
        raise node.error("must name at least one partition")
    return partitions


def choose_partition(partitions: Mapping[str, PartitionSettings], name: str | None,
                     source: str = "site.yaml") -> PartitionSettings | None:
    """The partition ``lifesign run --partition NAME`` asked for (None: an unpartitioned site)."""
    if not partitions:
        if name is not None:
            raise LookupError(f"--partition {name}: {source} has no partitions: section")
        return None
    if name is None:
        raise LookupError(f"{source} has partitions ({', '.join(partitions)}): say which one this instance "
                          "watches with --partition NAME")
    if name not in partitions:
        raise LookupError(f"No partition by the name of {name!r} in {source} (it has {', '.join(partitions)})")
    return partitions[name]


def check_partitions(registry: Registry, partitions: Mapping[str, PartitionSettings]) -> list[str]:
    """Raise LookupError for a community the registry lacks or a gateway whose homes lie in
    two partitions (its one topic cannot go to both); warn of communities nobody watches."""
    if not partitions:
        return []
    owner = {c: p.name for p in partitions.values() for c in p.communities}
    known = set(map(str, registry.community.tolist()))
    for partition in partitions.values():
        for community in partition.communities:
            if community not in known:
                raise LookupError(f"partitions.{partition.name}.communities: community {community!r} "
                                  "has no household in the registry")
    for gateway, communities in sorted(registry.gateway_communities().items()):
        holders = sorted({owner.get(c, "") for c in communities} - {""})
        if len(holders) > 1:
            raise LookupError(f"gateway {gateway!r} serves homes in partitions {' and '.join(holders)} "
                              f"(communities {', '.join(sorted(communities))}): a gateway's readings topic "
                              "belongs to one partition")
    return [f"community {c!r} is in no partition: no instance watches its homes"
            for c in sorted(known - set(owner))]


def partition_registry(registry: Registry, partition: PartitionSettings | None) -> Registry:
    return registry if partition is None else registry.of_communities(partition.communities)


__all__ = ["DEFAULT_LEASE_S", "PartitionSettings", "check_partitions", "choose_partition", "parse_partitions",
           "partition_registry"]
