"""Meter gateways publishing a scenario's rounds over MQTT.

Assumptions of the model:

* Each gateway (concentrator) sends one columnar batch per reporting round with the
  registers of all its meters and the round's timestamp, QoS 1, to
  ``lifesign/v1/readings/{gateway_id}``.
* The MQTT client is injected and already connected, with its network loop running
  (``loop_start()``): the caller owns the connection, this module only publishes.
* A round counts as sent when the broker has acknowledged every message (PUBACK);
  otherwise :class:`GatewayPublishError` says which gateway and round failed.
* :meth:`GatewayPublisher.run` moves the simulated clock to each round's time before
  publishing it, so a consumer checking "not in the future" against the same clock
  accepts the readings; ``pace_s`` slows an accelerated demo down to watchable speed.
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
from simulators.scenario import Round, Scenario

OnRound = Callable[[int, int, Round], None]


class GatewayPublishError(RuntimeError):
    """A round's messages were not confirmed by the broker."""


class GatewayPublisher:
    def __init__(self, client: Any, registry: Registry, *, confirm_timeout_s: float = 30.0, qos: int = 1) -> None:
        if qos not in (1, 2):
            raise ValueError(f"GatewayPublisher.qos must be 1 or 2 (readings need a broker confirmation), got {qos}")
        self.client = client
        self.registry = registry
        self.confirm_timeout_s = confirm_timeout_s
        self.qos = qos
        # Meters of each gateway, in registry order, computed once: a round only gathers values.
        order = np.argsort(registry.meter_gateway, kind="stable")
        bounds = np.searchsorted(registry.meter_gateway[order], np.arange(len(registry.gateway_ids) + 1))
        self._gateway_meters: list[npt.NDArray[np.intp]] = [
            order[bounds[g]:bounds[g + 1]] for g in range(len(registry.gateway_ids))
        ]
        self._topics = [readings_topic(g) for g in registry.gateway_ids]

    def publish_round(self, rnd: Round) -> int:
        """One columnar message per gateway with readings in the round; returns the message count."""
        value_of = np.full(self.registry.n_meters, np.nan)
        value_of[rnd.batch.meter] = rnd.batch.value
        ts: float | int = int(rnd.ts) if float(rnd.ts).is_integer() else float(rnd.ts)
        sent = []
        for g, meters in enumerate(self._gateway_meters):
            present = meters[~np.isnan(value_of[meters])]
            if not len(present):
                continue
            payload = encode_columnar([str(m) for m in self.registry.meter_ids[present]], ts, value_of[present])
            sent.append((self.registry.gateway_ids[g], self.client.publish(self._topics[g], payload, qos=self.qos)))
        deadline = time.monotonic() + self.confirm_timeout_s  # wall clock: a network timeout, not event time
        for gateway_id, info in sent:
            try:
                info.wait_for_publish(max(0.0, deadline - time.monotonic()))
            except (ValueError, RuntimeError) as exc:
                raise GatewayPublishError(
                    f"gateway {gateway_id}: publish of the round at ts={rnd.ts} failed ({exc}); "
                    "is the MQTT client connected?"
                ) from exc
            if not info.is_published():
                raise GatewayPublishError(
                    f"gateway {gateway_id}: publish of the round at ts={rnd.ts} was not confirmed by the "
                    f"broker within {self.confirm_timeout_s} s (is the client's network loop running?)"
                )
        return len(sent)

    def run(self, scenario: Scenario, clock: ManualClock, on_round: OnRound | None = None, pace_s: float = 0.0) -> int:
        """Publish every round of the scenario in order; returns the number of messages."""
        total = 0
        n_rounds = scenario.n_rounds
        for i, rnd in enumerate(scenario.rounds()):
            clock.advance_to(rnd.ts)
            total += self.publish_round(rnd)
            if on_round is not None:
                on_round(i, n_rounds, rnd)
            if pace_s > 0:
                time.sleep(pace_s)
        return total


__all__ = ["GatewayPublishError", "GatewayPublisher", "OnRound"]
