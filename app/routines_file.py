"""What the detector learned of each home's routine, kept across restarts (``routines.npz``).

Without it a restart would start every home from its configured thresholds again, and a
family out 16:00-09:00 every day would get welfare alarms for a week after each upgrade.
Written atomically (temp file, fsync, rename; 0600: routines say when people are out) by
a scheduler job and on stop; read before the detector rebuilds from history. A file that
cannot be read is logged and set aside: the service starts, the homes relearn.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from detectors.usual import Routines

log = logging.getLogger(__name__)
ROUTINES_FILE = "routines.npz"


def save_routines(data_dir: Path, routines: Routines) -> Path:
    target = data_dir / ROUTINES_FILE
    tmp = data_dir / (ROUTINES_FILE + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        np.savez(out, household_ids=routines.household_ids, usual=routines.usual,
                 learned_until=np.array([routines.learned_until]))
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, target)
    return target


def load_routines(data_dir: Path) -> Routines | None:
    """The saved routines, or None (none saved yet, or unreadable: set aside as ``.bad``)."""
    path = data_dir / ROUTINES_FILE
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as saved:
            routines = Routines(saved["household_ids"].astype(np.str_), saved["usual"].astype(np.uint8),
                                float(saved["learned_until"][0]))
        if routines.usual.ndim != 2 or len(routines.usual) != len(routines.household_ids):
            raise ValueError(f"{len(routines.household_ids)} households but a table of shape {routines.usual.shape}")
        return routines
    except (OSError, ValueError, KeyError, IndexError) as bad:
        aside = path.with_suffix(".bad")
        os.replace(path, aside)
        log.warning("%s could not be read (%s); moved to %s, every home relearns its routine", path, bad, aside)
        return None
