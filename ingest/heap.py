"""Giving freed memory back to the operating system after a burst of large payloads.

glibc's malloc raises its mmap threshold each time a large block is freed, so after
a few megabyte-sized payloads later ones come from the heap, and freeing them leaves
the process's resident size where the burst put it (the issue measured 670-740 MB
after a hostile run, from 141 MB). ``malloc_trim(0)`` returns the free pages. On a
libc without it this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable

_trim: Callable[[int], int] | None = None
try:
    _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    _trim = _libc.malloc_trim
except (OSError, AttributeError):  # not glibc (musl, macOS): the allocator decides alone
    _trim = None


def give_back_memory() -> None:
    if _trim is not None:
        _trim(0)
