"""Why readings were refused, counted in full and sampled in a few, and the bounded
dead-letter report one refused message becomes.

A hostile message can carry a hundred thousand bad readings or JSON nested hundreds
deep. Counting every refusal is cheap; keeping an object per refusal, or echoing
every item back, is what ran ingest out of memory and past the broker's packet
limit. So a :class:`RejectionTally` keeps exact counts by reason and only the first
few rejections, and :func:`encode_report` renders those few within fixed bounds.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson


class Reason:
    """Why a reading was rejected: the label on counters and dead letters."""

    MALFORMED_JSON = "malformed_json"
    BAD_SHAPE = "bad_shape"
    UNKNOWN_METER = "unknown_meter"
    WRONG_GATEWAY = "wrong_gateway"
    #: the topic's gateway is not in meters.csv at all: a new gateway not yet registered, or a typo
    UNKNOWN_GATEWAY = "unknown_gateway"
    BAD_TIMESTAMP = "bad_timestamp"
    FUTURE_TIMESTAMP = "future_timestamp"
    BAD_VALUE = "bad_value"
    #: not finite, beyond a register's maximum, or more than the meter's maximum rate
    IMPLAUSIBLE_VALUE = "implausible_value"
    #: a message past the size or reading-count limit, refused whole without decoding
    TOO_LARGE = "too_large"


@dataclass(frozen=True)
class Rejection:
    reason: str
    detail: str
    #: the offending part of the payload, as far as it could be read
    item: Any = None


#: rejections kept per message as samples (the counts are always complete)
MAX_SAMPLES = 8
#: samples a dead-letter report carries
REPORT_SAMPLES = 5
#: no report is larger: far below any broker's packet limit (mosquitto's here: 1 MiB)
MAX_REPORT_BYTES = 16 * 1024
#: how deep and how wide a sample item is rendered, and how long its texts may be
RENDER_DEPTH = 4
RENDER_WIDTH = 8
RENDER_TEXT = 128
_DETAIL_TEXT = 300


@dataclass
class RejectionTally:
    """Exact counts by reason and the first :data:`MAX_SAMPLES` rejections."""

    counts: Counter[str] = field(default_factory=Counter)
    samples: list[Rejection] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def add(self, rejection: Rejection, n: int = 1) -> None:
        """Count ``n`` refusals for ``rejection``'s reason; keep it as a sample if there is room."""
        self.counts[rejection.reason] += n
        if len(self.samples) < MAX_SAMPLES:
            self.samples.append(rejection)

    def count(self, reason: str, n: int) -> None:
        """Count refusals whose samples were (or need not be) built."""
        if n:
            self.counts[reason] += n

    def wants_samples(self) -> int:
        return MAX_SAMPLES - len(self.samples)

    def merge(self, other: RejectionTally) -> None:
        self.counts.update(other.counts)
        self.samples.extend(other.samples[: self.wants_samples()])


def bounded(item: Any, depth: int = RENDER_DEPTH) -> Any:
    """``item`` as JSON-safe data of bounded size: at most ``depth`` levels, the first
    :data:`RENDER_WIDTH` entries of each container, texts cut to :data:`RENDER_TEXT`.
    Iterative over width, recursive only to ``depth``: nesting a thousand deep cannot
    exhaust the stack (it did, in ``repr``, before this existed)."""
    if item is None or isinstance(item, bool):
        return item
    if isinstance(item, int):
        if -(2**63) <= item < 2**64:
            return item
        return f"an integer of {item.bit_length()} bits"  # str() refuses past 4300 digits
    if isinstance(item, float):
        return item if math.isfinite(item) else str(item)
    if isinstance(item, str):
        return _cut(item)
    if isinstance(item, (bytes, bytearray)):
        return _cut(bytes(item[: RENDER_TEXT * 4]).decode("utf-8", errors="replace"))
    if isinstance(item, dict):
        if depth <= 0:
            return f"{{...{len(item)} keys}}"
        out: dict[str, Any] = {}
        for i, (key, value) in enumerate(item.items()):
            if i == RENDER_WIDTH:
                out["..."] = f"{len(item) - RENDER_WIDTH} more keys"
                break
            out[_cut(str(key))] = bounded(value, depth - 1)
        return out
    if isinstance(item, (list, tuple)):
        if depth <= 0:
            return f"[...{len(item)} items]"
        rendered = [bounded(value, depth - 1) for value in item[:RENDER_WIDTH]]
        if len(item) > RENDER_WIDTH:
            rendered.append(f"...{len(item) - RENDER_WIDTH} more items")
        return rendered
    return _cut(type(item).__name__)


def _cut(text: str, limit: int = RENDER_TEXT) -> str:
    return text if len(text) <= limit else text[:limit] + f"...({len(text) - limit} more chars)"


def encode_report(gateway: str, topic: str, tally: RejectionTally, at: float, suppressed: int = 0) -> bytes:
    """The one dead letter for one refused message: counts by reason, a few samples.

    Never raises and never exceeds :data:`MAX_REPORT_BYTES`: a report that could not be
    sent would keep its message unacked, and one past the broker's packet limit gets
    the whole connection dropped.
    """
    counts = dict(tally.counts.most_common())
    report: dict[str, Any] = {
        "gateway": _cut(gateway),
        "topic": _cut(topic, 256),
        "at": at,
        "reason": next(iter(counts), Reason.BAD_SHAPE),  # the most common one
        "rejected": sum(counts.values()),
        "reasons": counts,
        "samples": [{"reason": r.reason, "detail": _cut(str(r.detail), _DETAIL_TEXT), "item": bounded(r.item)}
                    for r in tally.samples[:REPORT_SAMPLES]],
    }
    if suppressed:
        report["suppressed_reports"] = suppressed  # reports withheld by the rate limit since the last one
    try:
        encoded = orjson.dumps(report)
    except (TypeError, ValueError):  # defensive: bounded() returns only plain data
        encoded = b""
    if not encoded or len(encoded) > MAX_REPORT_BYTES:
        report["samples"] = []
        report["samples_dropped"] = "too large to report"
        encoded = orjson.dumps(report)
    return encoded
