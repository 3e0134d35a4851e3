"""Dispatch on /metrics: orders by status and escalation level, deliveries failed and
abandoned, time to acknowledge, sweep duration, and the desk's refused logins."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterable
from typing import Any, Self

from dispatch.orderstores.base import DispatchStore

#: seconds from an order's opening to a person accepting it
ACK_BUCKETS = (60.0, 300.0, 900.0, 1800.0, 3600.0, 4 * 3600.0, 24 * 3600.0)


class SweepTimer:
    """How long sweeps take (real time, not event time: it is the machine's cost)."""

    def __init__(self) -> None:
        self.count = 0
        self.total_s = 0.0
        self.last_s = 0.0
        self._lock = threading.Lock()

    def __enter__(self) -> Self:
        self._started = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        spent = time.perf_counter() - self._started
        with self._lock:
            self.count += 1
            self.total_s += spent
            self.last_s = spent


class DispatchCollector:
    def __init__(self, orders: DispatchStore, sweeps: SweepTimer, staff: Any = None) -> None:
        self.orders = orders
        self.sweeps = sweeps
        #: the desk's staff store (refused logins), if a desk runs
        self.staff = staff

    def collect(self) -> Iterable[Any]:
        from prometheus_client.core import (
            CounterMetricFamily,
            GaugeMetricFamily,
            HistogramMetricFamily,
        )

        orders = self.orders.list()
        by_state = Counter((o.status.value, str(o.escalation_level)) for o in orders)
        gauge = GaugeMetricFamily("lifesign_dispatch_orders", "work orders by status and escalation level",
                                  labels=["status", "level"])
        for (status, level), n in sorted(by_state.items()):
            gauge.add_metric([status, level], float(n))
        yield gauge
        deliveries = self.orders.deliveries()
        yield CounterMetricFamily("lifesign_dispatch_delivery_failures", "delivery attempts that failed",
                                  value=float(sum(d.attempts - (d.delivered_at is not None) for d in deliveries)))
        yield CounterMetricFamily("lifesign_dispatch_deliveries_abandoned", "deliveries given up",
                                  value=float(sum(d.abandoned_at is not None for d in deliveries)))
        waits = [o.acknowledged_at - o.opened_at for o in orders if o.acknowledged_at is not None]
        buckets = [(f"{b:g}", float(sum(w <= b for w in waits))) for b in ACK_BUCKETS]
        yield HistogramMetricFamily("lifesign_dispatch_time_to_acknowledge_seconds",
                                    "event time from an order's opening to its acceptance",
                                    buckets=[*buckets, ("+Inf", float(len(waits)))], sum_value=float(sum(waits)))
        sweep = CounterMetricFamily("lifesign_sweep_duration_seconds", "time spent in detector sweeps and dispatch",
                                    labels=[])
        sweep.add_metric([], self.sweeps.total_s)
        yield sweep
        yield CounterMetricFamily("lifesign_sweeps", "sweeps run", value=float(self.sweeps.count))
        yield GaugeMetricFamily("lifesign_sweep_last_duration_seconds", "the last sweep's duration",
                                value=self.sweeps.last_s)
        if self.staff is not None:
            yield CounterMetricFamily("lifesign_desk_logins_failed", "wrong staff passwords",
                                      value=float(self.staff.failed_logins))
            yield CounterMetricFamily("lifesign_desk_logins_throttled", "logins refused while a name waits",
                                      value=float(self.staff.throttled_logins))


__all__ = ["DispatchCollector", "SweepTimer"]
