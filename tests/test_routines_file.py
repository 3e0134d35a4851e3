"""routines.npz: what the detector learned survives a restart, a changed registry and a bad file."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from app.routines_file import ROUTINES_FILE, load_routines, save_routines
from detectors.usual import SLOTS, Routines, UsualSilences, restore


def test_saved_routines_come_back_by_household_id_into_a_changed_registry(tmp_path: Path) -> None:
    usual = np.arange(3 * SLOTS, dtype=np.uint8).reshape(3, SLOTS)
    save_routines(tmp_path, Routines(np.array(["H1", "H2", "H3"]), usual, 1_790_000_000.0))
    assert (tmp_path / ROUTINES_FILE).stat().st_mode & 0o777 == 0o600
    loaded = load_routines(tmp_path)
    assert loaded is not None
    # H2 left the registry, H4 joined, the order changed
    table = UsualSilences(3)
    assert restore(table, {"H3": 0, "H4": 1, "H1": 2}, loaded) == 2
    np.testing.assert_array_equal(table.usual[0], usual[2])
    np.testing.assert_array_equal(table.usual[1], np.zeros(SLOTS, dtype=np.uint8))
    np.testing.assert_array_equal(table.usual[2], usual[0])
    assert table.skip_until == 1_790_000_000.0


def test_an_unreadable_file_is_set_aside_and_the_service_starts_without_it(tmp_path: Path, caplog) -> None:
    (tmp_path / ROUTINES_FILE).write_bytes(b"not a numpy archive")
    assert load_routines(tmp_path) is None
    assert (tmp_path / "routines.bad").read_bytes() == b"not a numpy archive"
    assert "relearns" in caplog.text
    assert load_routines(tmp_path) is None  # nothing saved any more: a clean start
