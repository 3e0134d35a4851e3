"""lifesign: utility meters as signs of life.

This package is the bottom floor, the vocabulary every stage speaks: grid hierarchy,
registry, roster, readings, alerts, work orders, clock, topics and wire format, config
errors and the strict loader, store protocols and the shared MQTT client. It imports
nothing above it: not the stages (``ingest``, ``detectors``, ``dispatch``,
``simulators``), not the app (``app``); CI enforces that with import-linter.
"""

__version__ = "0.1.0"
