"""Append-only files of columnar reading frames: the embedded store's logs and the spool.

A frame is one ``os.write`` of a fixed header and three columns::

    magic b"LSF1" | n: u32 | crc32(body): u32 | reserved: u32 | codes i32[n] | ts f8[n] | value f8[n]

Why this shape: one write per batch is durable against ``kill -9`` as soon as it
returns (the kernel holds it); a torn frame from a power cut or a crash mid-write
fails its length or CRC check, so readers stop before it and the writer cuts it
off when it reopens the file. Readers in another process (the CLI) can read a
log while the service appends to it.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

MAGIC = b"LSF1"
HEADER = struct.Struct("<4sIII")
#: bytes per reading in a frame: code i32 + ts f8 + value f8
ROW_BYTES = 20


@dataclass(frozen=True)
class Frame:
    #: store-local meter codes (see :class:`ingest.historystores.meterids.MeterIds`)
    code: npt.NDArray[np.int32]
    ts: npt.NDArray[np.float64]
    value: npt.NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.code)


def encode_frame(code: npt.NDArray[np.int32], ts: npt.NDArray[np.float64], value: npt.NDArray[np.float64]) -> bytes:
    body = (
        np.ascontiguousarray(code, dtype="<i4").tobytes()
        + np.ascontiguousarray(ts, dtype="<f8").tobytes()
        + np.ascontiguousarray(value, dtype="<f8").tobytes()
    )
    return HEADER.pack(MAGIC, len(code), zlib.crc32(body), 0) + body


def scan(buffer: bytes | memoryview) -> tuple[list[Frame], int]:
    """The whole frames at the start of ``buffer`` and the byte length they cover."""
    frames: list[Frame] = []
    at = 0
    view = memoryview(buffer)
    while at + HEADER.size <= len(view):
        magic, n, crc, _ = HEADER.unpack_from(view, at)
        end = at + HEADER.size + n * ROW_BYTES
        if magic != MAGIC or end > len(view):
            break
        body = view[at + HEADER.size : end]
        if zlib.crc32(body) != crc:
            break
        code = np.frombuffer(body, dtype="<i4", count=n)
        ts = np.frombuffer(body, dtype="<f8", count=n, offset=4 * n)
        value = np.frombuffer(body, dtype="<f8", count=n, offset=12 * n)
        frames.append(Frame(code, ts, value))
        at = end
    return frames, at


def read_frames(path: Path) -> list[Frame]:
    """Every whole frame of a log; a torn tail is ignored (a writer may be appending)."""
    return scan(path.read_bytes())[0]


class FrameLog:
    """One append-only log file, opened for writing by one process."""

    def __init__(self, path: Path, *, fsync: bool = False) -> None:
        self.path = path
        self._fsync = fsync
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        data = path.read_bytes()
        frames, good = scan(data)
        if good < len(data):
            # A torn frame from a crash mid-write: cut it off, or every later frame
            # would sit behind garbage that readers stop at.
            os.ftruncate(self._fd, good)
        self.readings = sum(len(f) for f in frames)
        self.size = good

    def append(self, code: npt.NDArray[np.int32], ts: npt.NDArray[np.float64], value: npt.NDArray[np.float64]) -> None:
        frame = encode_frame(code, ts, value)
        written = os.write(self._fd, frame)
        if written != len(frame):  # a full disk: never leave half a frame behind
            os.ftruncate(self._fd, self.size)
            raise OSError(f"{self.path}: short write ({written} of {len(frame)} bytes); disk full?")
        if self._fsync:
            os.fsync(self._fd)
        self.size += len(frame)
        self.readings += len(code)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def iter_rows(frames: list[Frame]) -> Iterator[tuple[int, float, float]]:
    """Rows of frames, for tests and debugging."""
    for f in frames:
        yield from zip(f.code.tolist(), f.ts.tolist(), f.value.tolist())
