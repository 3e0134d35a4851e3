"""`lifesign learn`'s methods and their parts: ``rhythm`` (the default) and ``calibrated``
(silences and their tables, the population prior, the budget allocation into hours and
windows, and the out-of-sample calibration). :mod:`detectors.learn` chooses between them."""
