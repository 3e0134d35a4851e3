"""The gateway network model: its report must match what a receiver actually sees.

The receiver here is a small reference model of ingest's counting rules (decode with
the real :class:`ReadingDecoder`, then a (meter, ts) seen before is a duplicate and a
new one older than the meter's newest is late), independent of the network's own
bookkeeping.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from ingest.decode import ReadingDecoder
from lifesign.wire import gateway_of
from simulators.cohort import make_cohort
from simulators.meters import MeterCadence
from simulators.network import GARBAGE_KINDS, GatewayFaults, GatewayNetwork, Message
from simulators.routine import DAY, HOUR
from simulators.scenario import Scenario

START = 20047 * DAY - 8 * HOUR


class ReferenceReceiver:
    def __init__(self, decoder: ReadingDecoder) -> None:
        self.decoder = decoder
        self.seen: set[tuple[int, float]] = set()
        self.newest: dict[int, float] = {}
        self.counts: Counter[str] = Counter()
        self.rejected: Counter[str] = Counter()
        self.stored: list[tuple[int, float, float]] = []

    def take(self, message: Message, now: float) -> None:
        gateway = gateway_of(message.topic)
        assert gateway == message.gateway_id
        decoded = self.decoder.decode(message.payload, gateway, now)
        self.counts["messages"] += 1
        for r in decoded.rejections:
            self.rejected[r.reason] += 1
        for m, t, v in zip(decoded.batch.meter.tolist(), decoded.batch.ts.tolist(), decoded.batch.value.tolist()):
            self.counts["received"] += 1
            if (m, t) in self.seen:
                self.counts["duplicates"] += 1
                continue
            self.seen.add((m, t))
            if t < self.newest.get(m, -np.inf):
                self.counts["late"] += 1
            self.newest[m] = max(self.newest.get(m, -np.inf), t)
            self.stored.append((m, t, v))


def run(scenario: Scenario, network: GatewayNetwork) -> ReferenceReceiver:
    receiver = ReferenceReceiver(ReadingDecoder(scenario.cohort.registry))
    for rnd in scenario.rounds():
        for message in network.messages_for_round(rnd):
            receiver.take(message, rnd.ts)
    for message in network.flush():
        receiver.take(message, scenario.end)
    return receiver


FAULTS = GatewayFaults(duplicate_p=0.05, reorder_p=0.05, offline_p=0.01, offline_rounds=(2, 6),
                       skewed_share=0.3, max_skew_s=200, garbage_p=0.05, batch_rounds=1)


@pytest.mark.parametrize("batch_rounds", [1, 3])
def test_the_report_accounts_for_every_duplicate_reordering_and_garbage_payload(batch_rounds: int) -> None:
    cohort = make_cohort(150, 2, meters_per_gateway=24, with_gas_fraction=0.2)
    cadence = MeterCadence.assign(cohort.registry, {"15min": 0.7, "60min": 0.2, "nbiot_daily": 0.1}, seed=3)
    scenario = Scenario(cohort, START, 2, seed=2, cadence=cadence)
    faults = GatewayFaults(**{**FAULTS.__dict__, "batch_rounds": batch_rounds})
    network = GatewayNetwork(cohort.registry, faults, seed=5, cadence=cadence)
    receiver = run(scenario, network)
    report = network.report

    assert report.duplicated_readings > 0 and report.reordered_readings > 0 and report.offline_spells > 0
    assert report.nbiot_uploads > 0 and report.skewed_gateways > 0
    assert set(report.garbage_payloads) == set(GARBAGE_KINDS)
    assert receiver.counts["messages"] == report.messages
    assert receiver.counts["received"] == report.readings_sent
    assert receiver.counts["duplicates"] == report.duplicated_readings
    assert receiver.counts["late"] == report.reordered_readings
    assert dict(receiver.rejected) == report.expected_rejections
    assert sum(report.expected_rejections.values()) == sum(report.garbage_payloads.values())
    # nothing lost: every reading of the scenario arrives once as a new point
    expected = sum(len(r.batch) for r in scenario.rounds())
    assert len(receiver.stored) == report.unique_readings == expected


def test_without_faults_a_round_is_one_message_per_gateway_in_order() -> None:
    cohort = make_cohort(100, 1, meters_per_gateway=48)
    scenario = Scenario(cohort, START, 0.25, seed=1)
    network = GatewayNetwork(cohort.registry)
    receiver = run(scenario, network)
    n_gateways = len(cohort.registry.gateway_ids)
    assert network.report.messages == scenario.n_rounds * n_gateways == receiver.counts["messages"]
    assert receiver.counts["late"] == receiver.counts["duplicates"] == 0 and not receiver.rejected
    assert network.report.unique_readings == scenario.n_rounds * cohort.registry.n_meters


def test_skewed_gateways_shift_timestamps_by_a_constant_within_the_limit() -> None:
    cohort = make_cohort(60, 4, meters_per_gateway=10)
    scenario = Scenario(cohort, START, 0.5, seed=4)
    network = GatewayNetwork(cohort.registry, GatewayFaults(skewed_share=1.0, max_skew_s=240), seed=1)
    receiver = run(scenario, network)
    true_ts = {float(r.ts) for r in scenario.rounds()}
    offsets: dict[int, set[float]] = {}
    gateway = cohort.registry.meter_gateway
    for m, t, _ in receiver.stored:
        nearest = min(true_ts, key=lambda x: abs(x - t))
        offsets.setdefault(int(gateway[m]), set()).add(t - nearest)
    assert all(len(v) == 1 for v in offsets.values())
    assert all(abs(next(iter(v))) <= 240 for v in offsets.values())
    assert network.report.skewed_gateways == sum(next(iter(v)) != 0 for v in offsets.values())


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"duplicate_p": 1.5}, "duplicate_p must be within 0..1, got 1.5"),
    ({"max_skew_s": 400}, "max_skew_s must be within 0..240"),
    ({"batch_rounds": 0}, "batch_rounds must be >= 1, got 0"),
    ({"offline_rounds": (5, 2)}, r"offline_rounds must be \(min, max\)"),
])
def test_bad_faults_are_named(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        GatewayFaults(**kwargs)  # type: ignore[arg-type]
