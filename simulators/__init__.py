"""Seeded synthetic homes, meters and gateways: the workload for demos, tests and benchmarks.

* :mod:`simulators.cohort`: registry, roster and per-home routine parameters.
* :mod:`simulators.routine`, :mod:`simulators.lifestyle`, :mod:`simulators.extras`: the
  vectorised daily routine (water, electricity, gas) and the irregular parts of real life.
* :mod:`simulators.appliances`: the loads that run by themselves (fridges, freezers,
  defrost heaters, standby), simple or realistic.
* :mod:`simulators.absences`, :mod:`simulators.incidents`, :mod:`simulators.conditions`:
  time away from home, what happens to homes, buildings and meters, and running toilets
  (the ground truth).
* :mod:`simulators.localtime`: the residents' wall clock in an IANA zone, daylight saving included.
* :mod:`simulators.effects`, :mod:`simulators.usage`, :mod:`simulators.accrual`: absences
  and incidents applied to the routine, accrued into reporting rounds.
* :mod:`simulators.meters`, :mod:`simulators.scenario`: registers, cadences, outages; rounds
  of readings over days, in blocks of homes for a city.
* :mod:`simulators.network`, :mod:`simulators.gateways`: gateways as they really are, and
  publishing their messages over MQTT.
* :mod:`simulators.dataset`, :mod:`simulators.scenario_file`: datasets (CSV, Parquet,
  ground truth) and scenario files (``configs/scenarios/*.yaml``).
"""
