"""lifesign: utility meters as signs of life.

This package holds the vocabulary every stage speaks (grid hierarchy, registry,
readings, alerts, work orders, clock, config, wire format, store protocols) and,
apart from it in :mod:`app`, the composition root that wires the stages.
Vocabulary modules import no stage package; CI enforces that with import-linter.
"""

__version__ = "0.1.0"
