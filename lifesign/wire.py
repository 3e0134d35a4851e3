"""MQTT topics and the payload format gateways send: the names simulators, ingest and
dispatch share. Decoding and checking readings is ingest's (:mod:`ingest.decode`).

Readings arrive on ``lifesign/v1/readings/{gateway_id}`` as JSON, in one of three shapes:

* single reading: ``{"meter": "W-0001", "ts": 1763700000, "value": 12.345}``
* row batch: ``{"readings": [{"meter": "W-0001", "ts": 1763700000, "value": 12.345}, ...]}``
* columnar batch: ``{"meters": ["W-0001", "E-0001"], "ts": 1763700000, "values": [12.345, 873.20]}``
  (``ts`` is one time for all readings, or a list as long as ``meters``)

``ts`` is epoch seconds, epoch milliseconds (any number above 1e11) or an RFC 3339
text; ``value`` is the meter's cumulative register (m³ water and gas, kWh electricity).
"""

from __future__ import annotations

import numpy as np
import orjson

TOPIC_ROOT = "lifesign/v1"
READINGS_SUBSCRIPTION = f"{TOPIC_ROOT}/readings/+"


#: register resets and other flags raised by ingest, for operators
FLAGGED_TOPIC = f"{TOPIC_ROOT}/_flagged"


def readings_topic(gateway_id: str) -> str:
    return f"{TOPIC_ROOT}/readings/{gateway_id}"


def rejected_topic(gateway_id: str) -> str:
    return f"{TOPIC_ROOT}/_rejected/{gateway_id}"


def workorders_topic(worker_id: str) -> str:
    return f"{TOPIC_ROOT}/workorders/{worker_id}"


def order_state_topic(worker_id: str, order_id: int) -> str:
    """One retained message per open order of a worker: a phone that subscribes to
    ``lifesign/v1/orders/{worker_id}/+`` gets every open order it holds, also after being offline."""
    return f"{TOPIC_ROOT}/orders/{worker_id}/{order_id}"


def gateway_of(topic: str) -> str | None:
    """The gateway id in a readings topic, or None if the topic is not one."""
    prefix = f"{TOPIC_ROOT}/readings/"
    if not topic.startswith(prefix):
        return None
    rest = topic[len(prefix):]
    return rest if rest and "/" not in rest else None


def encode_columnar(meter_ids: list[str], ts: float, values: np.ndarray | list[float]) -> bytes:
    """The columnar batch a gateway sends for one reporting round."""
    return orjson.dumps({"meters": meter_ids, "ts": ts, "values": [round(float(v), 4) for v in values]})
