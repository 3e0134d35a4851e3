"""Seeded synthetic homes, meters and gateways: the workload for demos, tests and benchmarks.

* :mod:`simulators.cohort`: registry, roster and per-home routine parameters.
* :mod:`simulators.routine`: vectorised daily usage model (water, electricity, gas).
* :mod:`simulators.scenario`: rounds of register readings over days, incidents, datasets.
* :mod:`simulators.gateways`: publishing rounds as gateway batches over MQTT.
"""
