"""`lifesign learn`'s parts: silences and their tables, the population prior, the budget
allocation into hours and windows, and the out-of-sample calibration."""
