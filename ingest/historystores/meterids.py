"""Stable meter codes: a store's own numbering of meter ids, kept in a text file.

History must not depend on the order of ``meters.csv``: a store writes small
integer codes, and ``meters.txt`` (one id per line, code = line number) says
which meter each code is. New ids are appended and flushed before any frame
that uses them is written, so a frame never names a code the file lacks.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt


class MeterIds:
    def __init__(self, path: Path, registry_meter_ids: Sequence[str], *, writable: bool = True) -> None:
        self.path = path
        if writable:
            _cut_partial_line(path)
        self._ids: list[str] = _read(path)
        self._code_of = {m: i for i, m in enumerate(self._ids)}
        missing = [m for m in registry_meter_ids if m not in self._code_of]
        if missing and writable:
            for bad in missing:
                if not bad or "\n" in bad or "\r" in bad:
                    raise ValueError(f"meter id {bad!r} cannot be stored (empty or contains a line break)")
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "a", encoding="utf-8") as out:
                out.write("".join(f"{m}\n" for m in missing))
                out.flush()
                os.fsync(out.fileno())
            for m in missing:
                self._code_of[m] = len(self._ids)
                self._ids.append(m)
        #: registry index -> store code (-1: a meter this read-only view does not know yet)
        self.code_of_index = np.array([self._code_of.get(m, -1) for m in registry_meter_ids], dtype=np.int32)
        #: store code -> registry index (-1: a meter no longer in the registry)
        self.index_of_code = self._index_of_code(len(self._ids))

    def _index_of_code(self, n_codes: int) -> npt.NDArray[np.int32]:
        table = np.full(max(n_codes, 1), -1, dtype=np.int32)
        known = self.code_of_index >= 0
        table[self.code_of_index[known]] = np.flatnonzero(known).astype(np.int32)
        return table

    def refresh(self) -> None:
        """Re-read the file (a reader in another process sees ids the writer added)."""
        ids = _read(self.path)
        if len(ids) > len(self._ids):
            self._ids = ids
            self._code_of = {m: i for i, m in enumerate(ids)}
            self.index_of_code = self._index_of_code(len(ids))

    def to_index(self, code: npt.NDArray[np.int32]) -> npt.NDArray[np.int32]:
        inside = (code >= 0) & (code < len(self.index_of_code))
        out = np.full(len(code), -1, dtype=np.int32)
        out[inside] = self.index_of_code[code[inside]]
        return out


def _read(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    # The last line is whole only if it ends with a newline (a crash mid-append).
    return text.split("\n")[:-1]


def _cut_partial_line(path: Path) -> None:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return
    if data and not data.endswith(b"\n"):
        with open(path, "r+b") as f:
            f.truncate(data.rfind(b"\n") + 1)
