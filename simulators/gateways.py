"""Meter gateways publishing a scenario's rounds over MQTT.

Assumptions of the model:

* Without a :class:`~simulators.network.GatewayNetwork`, each gateway
  (concentrator) sends one columnar batch per reporting round with the registers of
  all its meters and the round's timestamp, QoS 1, to ``lifesign/v1/readings/{gateway_id}``.
  With one, the network decides what is sent (batches, retries, reorderings, offline
  backlogs, NB-IoT daily uploads, garbage) and reports it (:attr:`GatewayPublisher.report`).
* The MQTT client is injected and already connected, with its network loop running
  (``loop_start()``): the caller owns the connection, this module only publishes.
* A round counts as sent when the broker has acknowledged every message (PUBACK);
  otherwise :class:`GatewayPublishError` says which gateway and round failed.
* :meth:`GatewayPublisher.run` moves the simulated clock to each round's time before
  publishing it, so a consumer checking "not in the future" against the same clock
  accepts the readings. ``acceleration`` paces rounds to simulated seconds per wall
  second (0: as fast as the broker confirms); ``pace_s`` adds a fixed pause per round.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from lifesign.clock import ManualClock
from lifesign.registry import Registry
from lifesign.wire import encode_columnar, readings_topic
from simulators.network import GatewayNetwork, Message, NetworkReport
from simulators.scenario import Round, Scenario

OnRound = Callable[[int, int, Round], None]


class GatewayPublishError(RuntimeError):
    """A round's messages were not confirmed by the broker."""


class GatewayPublisher:
    def __init__(self, client: Any, registry: Registry, *, confirm_timeout_s: float = 30.0, qos: int = 1,
                 network: GatewayNetwork | None = None) -> None:
        if qos not in (1, 2):
            raise ValueError(f"GatewayPublisher.qos must be 1 or 2 (readings need a broker confirmation), got {qos}")
        self.client = client
        self.registry = registry
        self.confirm_timeout_s = confirm_timeout_s
        self.qos = qos
        self.network = network
        # Meters of each gateway, in registry order, computed once: a round only gathers values.
        order = np.argsort(registry.meter_gateway, kind="stable")
        bounds = np.searchsorted(registry.meter_gateway[order], np.arange(len(registry.gateway_ids) + 1))
        self._gateway_meters: list[npt.NDArray[np.intp]] = [
            order[bounds[g]:bounds[g + 1]] for g in range(len(registry.gateway_ids))
        ]
        self._topics = [readings_topic(g) for g in registry.gateway_ids]
        self.messages_published = 0

    @property
    def report(self) -> NetworkReport | None:
        """What the gateways sent and every fault in it (None without a network model)."""
        return self.network.report if self.network is not None else None

    def _plain_messages(self, rnd: Round) -> list[Message]:
        value_of = np.full(self.registry.n_meters, np.nan)
        value_of[rnd.batch.meter] = rnd.batch.value
        ts: float | int = int(rnd.ts) if float(rnd.ts).is_integer() else float(rnd.ts)
        out = []
        for g, meters in enumerate(self._gateway_meters):
            present = meters[~np.isnan(value_of[meters])]
            if len(present):
                payload = encode_columnar([str(m) for m in self.registry.meter_ids[present]], ts, value_of[present])
                out.append(Message(self._topics[g], payload, self.registry.gateway_ids[g]))
        return out

    def publish(self, messages: list[Message], at: float) -> int:
        """Publish messages and wait for the broker's confirmation of each; returns the count."""
        sent = [(m.gateway_id, self.client.publish(m.topic, m.payload, qos=self.qos)) for m in messages]
        deadline = time.monotonic() + self.confirm_timeout_s  # wall clock: a network timeout, not event time
        for gateway_id, info in sent:
            try:
                info.wait_for_publish(max(0.0, deadline - time.monotonic()))
            except (ValueError, RuntimeError) as exc:
                raise GatewayPublishError(
                    f"gateway {gateway_id}: publish of the round at ts={at} failed ({exc}); "
                    "is the MQTT client connected?"
                ) from exc
            if not info.is_published():
                raise GatewayPublishError(
                    f"gateway {gateway_id}: publish of the round at ts={at} was not confirmed by the "
                    f"broker within {self.confirm_timeout_s} s (is the client's network loop running?)"
                )
        self.messages_published += len(sent)
        return len(sent)

    def publish_round(self, rnd: Round) -> int:
        """The round's messages (one columnar message per gateway without a network model)."""
        messages = self.network.messages_for_round(rnd) if self.network is not None else self._plain_messages(rnd)
        return self.publish(messages, rnd.ts)

    def run(self, scenario: Scenario, clock: ManualClock | None, on_round: OnRound | None = None,
            pace_s: float = 0.0, acceleration: float = 0.0) -> int:
        """Publish every round of the scenario in order; returns the number of messages.

        ``clock`` (a manual clock shared with the pipeline) is moved to each round's time;
        pass None when the pipeline runs on the wall clock.
        """
        total = 0
        n_rounds = scenario.n_rounds
        wall0 = time.monotonic()
        for i, rnd in enumerate(scenario.rounds()):
            if acceleration > 0:
                due = wall0 + (rnd.ts - scenario.start) / acceleration
                time.sleep(max(0.0, due - time.monotonic()))
            if clock is not None:
                clock.advance_to(rnd.ts)
            total += self.publish_round(rnd)
            if on_round is not None:
                on_round(i, n_rounds, rnd)
            if pace_s > 0:
                time.sleep(pace_s)
        if self.network is not None:
            total += self.publish(self.network.flush(), scenario.end)
        return total


__all__ = ["GatewayPublishError", "GatewayPublisher", "OnRound"]
