"""Compaction of the embedded store's finished days, off the ingest path.

A pass takes each finished day in two steps:

1. **Seal**, under the store's write lock (``SegmentHistoryStore._seal``): the day's
   live log is closed and renamed to the day's next side segment,
   ``2026-11-18.late-N.log``. A rename: the lock is held for that long, whatever the
   size of the day, and a write that comes after it starts a new live log.
2. **Settle** (here), holding no lock while ingest goes on writing:

   - a day without a day file yet (its first compaction): its side segments become it;
   - more than ``max_late_segments`` side segments: merged into one side segment while
     they are small beside the day (under 1/``SMALL_BESIDE_DAY`` of its readings), into
     the day file otherwise; so a late reading never costs a rewrite of a whole day;
   - else each sealed log is rewritten as a side Parquet file (zstd: 20 bytes a reading
     down to a few).

Every step writes its result beside the files it replaces, renames it into place and
only then removes them (holding readers off for the renames and removals alone, see
dayfiles.py). A crash at any point leaves each reading in one file, or in
two that agree (readers keep the first written of each (meter, ts)), and the next
pass takes the same step again to the same result: nothing lost, nothing twice.
"""

from __future__ import annotations

from ingest.faults import FaultPoint
from ingest.historystores.dayfiles import Day, files_held, install, merged, read_file, write_beside

#: side segments a day keeps before they are merged
MAX_LATE_SEGMENTS = 8
#: side segments holding less than 1/this of their day's readings merge among themselves
SMALL_BESIDE_DAY = 8


def settle(day: Day, max_late_segments: int, fault: FaultPoint) -> bool:
    """Bring a sealed day's files to their compacted form; False when they already are."""
    changed = drop_merged(day)
    if not day.sides:
        return changed
    if day.parquet is None:
        rewrite_day(day, fault)
    elif len(day.sides) > max_late_segments:
        late = sum(files[0].rows() for files in day.sides.values())
        if late * SMALL_BESIDE_DAY < day.parquet.rows():
            merge_sides(day, sorted(day.sides), fault)
        else:
            rewrite_day(day, fault)
    else:
        sealed = [n for n, files in sorted(day.sides.items()) if any(f.is_log for f in files)]
        for number in sealed:
            merge_sides(day, [number], fault)
        return changed or bool(sealed)
    return True


def drop_merged(day: Day) -> bool:
    """Removes side segments the day file already took in: a crash came between its
    rewrite and their removal."""
    through = day.sides_through()
    merged_before = [n for n in day.sides if n <= through]
    if not merged_before:
        return False
    with files_held(day.folder, exclusive=True):
        for n in merged_before:
            for f in day.sides.pop(n):
                f.path.unlink()
    return True


def rewrite_day(day: Day, fault: FaultPoint) -> None:
    """The day file and every side segment, as one new day file."""
    fault("before_day_rewrite")
    sources = ([day.parquet] if day.parquet is not None else []) + day.side_files()
    target = day.path_of("parquet")
    tmp = write_beside(merged([frame for f in sources for frame in read_file(f)]), target, max(day.sides))
    with files_held(day.folder, exclusive=True):
        install(tmp, target)
        fault("after_day_rewrite")
        for f in day.side_files():
            f.path.unlink()


def merge_sides(day: Day, numbers: list[int], fault: FaultPoint) -> None:
    """The side segments ``numbers`` (in order) as one side Parquet under the first number."""
    sources = [f for n in numbers for f in day.sides[n]]
    target = day.path_of(f"late-{numbers[0]}.parquet")
    tmp = write_beside(merged([frame for f in sources for frame in read_file(f)]), target)
    with files_held(day.folder, exclusive=True):
        install(tmp, target)
        fault("after_side_rewrite")
        for f in sources:
            if f.path != target:
                f.path.unlink()


__all__ = ["MAX_LATE_SEGMENTS", "SMALL_BESIDE_DAY", "drop_merged", "merge_sides", "rewrite_day", "settle"]
