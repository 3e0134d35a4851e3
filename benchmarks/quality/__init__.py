"""The detection-quality benchmark (``benchmarks/detect_quality.py``), in small parts.

``project`` is the only module that imports lifesign's own packages; ``scoring``,
``fixed_rule`` and ``visible_absences`` use pandas/numpy alone, so the benchmark never
grades the detector with the detector's own code.
"""
