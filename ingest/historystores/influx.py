"""History in an InfluxDB v2 write API server: InfluxDB 2.x/3.x or VictoriaMetrics.

Each reading is one line-protocol point::

    reading,db=<bucket>,meter=<meter id>,utility=<utility> value=<float> <epoch ms>

``db`` is written only for VictoriaMetrics, which has no buckets: it is the label
VictoriaMetrics itself gives InfluxDB databases, so sites sharing one server stay
apart. ``utility`` only when the registry gives utilities. Meter ids, never
registry indices, are stored, so a reordered registry keeps every reading with
its meter. Timestamps are kept to the millisecond (VictoriaMetrics' resolution).

Writes send one joined line-protocol string per chunk of ``batch_points``,
gzip level 1, through influxdb-client's synchronous ``WriteService`` (the call
``WriteApi`` makes inside): ``WriteApi`` always compresses at level 9, which cuts
throughput to less than half, and ``Point`` objects cost 10x (benchmarks/store_influx.py).

Reads depend on the server:

- ``reader="victoriametrics"``: VictoriaMetrics runs no Flux. Its raw-sample
  export ``/api/v1/export`` (JSON lines, one series per line) is read for the
  metric ``<measurement>_value`` (how VictoriaMetrics names an InfluxDB field).
  Fresh writes sit in memory for up to ~2 s before they are searchable, so every
  read first asks ``/internal/force_flush`` (single-node servers; if the endpoint is
  missing, e.g. behind vmselect, reads may miss the last second or two). After a
  burst of ~1M points, 1.79 sometimes needs ~1 s more even after the flush. The
  selector carries a matcher that changes every read: a cached series lookup once
  hid series created after it (see ``_export``).
- ``reader="flux"``: a Flux query through ``query_api`` for InfluxDB 2.x. NOT
  tested here: no InfluxDB server is available on the build machines.

Servers keep duplicates their own way (VictoriaMetrics keeps both samples unless
``-dedup.minScrapeInterval`` is set; InfluxDB keeps the last write), so reads
deduplicate per (meter, ts) and keep the largest value, VictoriaMetrics' own
dedup rule. Ingest only ever rewrites a (meter, ts) with the same value.
"""

from __future__ import annotations

import gzip
import json
import logging
import math
import secrets
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import orjson
import urllib3
from influxdb_client import InfluxDBClient, WritePrecision
from influxdb_client.rest import ApiException
from influxdb_client.service.write_service import WriteService

from lifesign.readings import ReadingBatch

log = logging.getLogger(__name__)

READERS = ("victoriametrics", "flux")
_FAR_FUTURE_S = 4_102_444_800.0  # 2100-01-01: "no end" for servers whose default end is now
_SERVER_TEXT_LIMIT = 500
# Statuses that say "this payload will never be accepted": retrying cannot help.
_REFUSED_PAYLOAD = frozenset({400, 413, 422})
# Line protocol: commas, spaces and equals signs in tag values are escaped, and so is
# the backslash that escapes them (as influxdb-client's Point does).
_TAG_ESCAPES = str.maketrans({"\\": "\\\\", ",": "\\,", " ": "\\ ", "=": "\\="})


class HistoryStoreUnavailable(ConnectionError):
    """The history server did not take or give readings: down, refused, timed out, or
    an HTTP status that may pass (5xx, 429, 401/403/404 until an operator fixes it).

    An OSError, so ingest spools until the server is back: nothing acked is lost.
    """


def escape_tag(value: str, what: str) -> str:
    """A tag value in line protocol, refusing what no escape can carry.

    >>> escape_tag("m 1,a=b", "meter id")
    'm\\\\ 1\\\\,a\\\\=b'
    """
    if not value or any(c in value for c in "\n\r\t"):
        raise ValueError(
            f"{what} {value!r} cannot be a line-protocol tag: "
            "expected a non-empty string without line breaks or tabs"
        )
    return value.translate(_TAG_ESCAPES)


class InfluxHistoryStore:
    """:class:`lifesign.stores.HistoryStore` on an InfluxDB v2 write API server."""

    def __init__(
        self,
        url: str,
        token: str,
        org: str,
        bucket: str,
        meter_ids: Sequence[str],
        meter_utilities: Sequence[str] | None = None,
        *,
        reader: str = "victoriametrics",
        batch_points: int = 5000,
        timeout_s: float = 10.0,
        measurement: str = "reading",
        gzip_level: int = 1,
    ) -> None:
        if reader not in READERS:
            raise ValueError(
                f"history.influx.reader must be one of {', '.join(READERS)}, got {reader!r}"
            )
        if batch_points < 1:
            raise ValueError(f"history.influx.batch_points must be >= 1, got {batch_points}")
        if timeout_s <= 0:
            raise ValueError(f"history.influx.timeout_s must be > 0, got {timeout_s}")
        if not 0 <= gzip_level <= 9:
            raise ValueError(f"history.influx.gzip_level must be 0 (off) to 9, got {gzip_level}")
        if not measurement.isidentifier():
            raise ValueError(
                "history.influx.measurement must be a plain name like 'reading', "
                f"got {measurement!r}"
            )
        for name, value in (("url", url), ("bucket", bucket)):
            if not value:
                raise ValueError(f"history.influx.{name} must be set, got {value!r}")
        if reader == "flux" and not org:
            raise ValueError(
                "history.influx.org must be set for reader flux (InfluxDB 2.x needs it)"
            )
        if len(set(meter_ids)) != len(meter_ids):
            raise ValueError("meter ids must be unique: one id names two registry indices")
        if meter_utilities is not None and len(meter_utilities) != len(meter_ids):
            raise ValueError(
                f"meter_utilities has {len(meter_utilities)} entries, "
                f"expected one per meter ({len(meter_ids)})"
            )
        self.url = url.rstrip("/")
        self.org = org
        self.bucket = bucket
        self.reader = reader
        self.batch_points = batch_points
        self.measurement = measurement
        self.gzip_level = gzip_level
        self.meter_ids = list(meter_ids)
        self._index_of = {m: i for i, m in enumerate(self.meter_ids)}
        self._prefixes = self._line_prefixes(meter_utilities)
        self._client = InfluxDBClient(
            url=self.url, token=token, org=org, timeout=int(timeout_s * 1000), retries=False
        )
        self._write_service = WriteService(self._client.api_client)
        headers = {"Accept-Encoding": "gzip"}
        if token:
            headers["Authorization"] = f"Token {token}"
        self._http = urllib3.PoolManager(
            headers=headers, timeout=urllib3.Timeout(total=timeout_s), retries=False
        )
        self._flush_endpoint = reader == "victoriametrics"
        self._lock = threading.Lock()
        self._closed = False

    def _line_prefixes(self, utilities: Sequence[str] | None) -> list[str]:
        # Tag keys in sorted order (db < meter < utility): InfluxDB's fast path.
        db = f",db={escape_tag(self.bucket, 'bucket')}" if self.reader == "victoriametrics" else ""
        prefixes = []
        for i, meter in enumerate(self.meter_ids):
            tags = f"{db},meter={escape_tag(meter, 'meter id')}"
            if utilities is not None:
                tags += f",utility={escape_tag(utilities[i], f'utility of meter {meter!r}')}"
            prefixes.append(f"{self.measurement}{tags} value=")
        return prefixes

    # -- write ------------------------------------------------------------------
    def write(self, batch: ReadingBatch) -> None:
        self._check_open()
        if len(batch) == 0:
            return
        self._check_batch(batch)
        ts_ms = np.rint(batch.ts * 1000.0).astype(np.int64)
        for lo in range(0, len(batch), self.batch_points):
            hi = lo + self.batch_points
            self._post(self.line_protocol(batch.meter[lo:hi], ts_ms[lo:hi], batch.value[lo:hi]))

    def line_protocol(self, meter: np.ndarray, ts_ms: np.ndarray, value: np.ndarray) -> str:
        """Joined line protocol for registry indices, epoch ms and values (no checks)."""
        prefixes = self._prefixes
        # repr() of a float is the shortest exact form, always with a '.' or an
        # exponent, so the field stays a float for InfluxDB.
        return "\n".join(
            [
                f"{prefixes[m]}{v!r} {t}"
                for m, v, t in zip(meter.tolist(), value.tolist(), ts_ms.tolist())
            ]
        )

    def _check_batch(self, batch: ReadingBatch) -> None:
        bad = np.flatnonzero((batch.meter < 0) | (batch.meter >= len(self.meter_ids)))
        if len(bad):
            raise ValueError(
                f"reading {bad[0]} has meter index {batch.meter[bad[0]].item()}, "
                f"expected 0..{len(self.meter_ids) - 1} (the registry this store was built with)"
            )
        bad = np.flatnonzero(~(np.isfinite(batch.value) & np.isfinite(batch.ts)))
        if len(bad):
            i = bad[0]
            raise ValueError(
                f"reading of meter {self.meter_ids[batch.meter[i]]!r} at "
                f"ts={batch.ts[i].item()!r} has value={batch.value[i].item()!r}: "
                "expected finite numbers (InfluxDB stores no NaN or inf)"
            )

    def _post(self, lines: str) -> None:
        body = lines.encode()
        encoding = "identity"
        if self.gzip_level:
            body, encoding = gzip.compress(body, compresslevel=self.gzip_level), "gzip"
        try:
            self._write_service.post_write(
                org=self.org,
                bucket=self.bucket,
                body=body,
                precision=WritePrecision.MS,
                content_encoding=encoding,
                content_type="text/plain; charset=utf-8",
            )
        except ApiException as exc:
            raise self._server_error("write to", exc.status, exc.body) from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise self._unreachable(exc) from exc

    def _unreachable(self, exc: Exception, what: str = "is unreachable") -> Exception:
        return HistoryStoreUnavailable(f"history server {self.url} {what}: {exc}")

    def _server_error(self, action: str, status: int | None, body: object) -> Exception:
        text = body.decode(errors="replace") if isinstance(body, bytes) else str(body or "")
        text = text.strip()[:_SERVER_TEXT_LIMIT]
        where = f"{action} {self.url} (org {self.org!r}, bucket {self.bucket!r})"
        if status in _REFUSED_PAYLOAD:
            return ValueError(
                f"history server refused the {action.split()[0]}: {where}: HTTP {status}: {text}"
            )
        # 5xx, 429, and auth or "no such bucket" errors: nothing is lost by waiting
        # (ingest spools) until an operator or the server fixes it.
        return HistoryStoreUnavailable(f"{where}: HTTP {status}: {text}")

    # -- read -------------------------------------------------------------------
    def read(self, start: float | None = None, end: float | None = None) -> ReadingBatch:
        self._check_open()
        if self.reader == "victoriametrics":
            meter, ts, value = self._export(start, end)
        else:
            meter, ts, value = self._flux(start, end)
        keep = np.ones(len(ts), dtype=bool)
        if start is not None:
            keep &= ts >= start
        if end is not None:
            keep &= ts < end
        return _one_point_per_key(meter[keep], ts[keep], value[keep])

    def count(self) -> int:
        return len(self.read())

    def _export(self, start: float | None, end: float | None) -> tuple[Any, Any, Any]:
        self._force_flush()
        # A matcher no series has, new each read: VictoriaMetrics (1.79) caches which series a
        # selector matched per day range, and after an empty answer new series written for
        # those days stayed invisible to the same selector (a standby's rebuild saw none of
        # the readings its predecessor had stored); a fresh selector is looked up anew.
        selector = (
            f"{{__name__={json.dumps(self.measurement + '_value')},db={json.dumps(self.bucket)},"
            f"lifesign_read!={json.dumps(secrets.token_hex(6))}}}"
        )
        # Export bounds are inclusive and default to "until now"; ask for a little
        # more and cut exactly afterwards.
        fields = {
            "match[]": selector,
            "start": f"{math.floor((start if start is not None else 0.0) * 1000) / 1000:.3f}",
            "end": f"{math.ceil((end if end is not None else _FAR_FUTURE_S) * 1000) / 1000:.3f}",
        }
        meters: list[np.ndarray] = []
        stamps: list[np.ndarray] = []
        values: list[np.ndarray] = []
        for series in self._request_lines("/api/v1/export", fields):
            index = self._index_of.get(series["metric"].get("meter", ""))
            if index is None:
                continue  # a meter no longer in the registry
            ts = np.asarray(series["timestamps"], dtype=np.float64) / 1000.0
            meters.append(np.full(len(ts), index, dtype=np.int32))
            stamps.append(ts)
            values.append(np.asarray(series["values"], dtype=np.float64))
        if not meters:
            return _empty_columns()
        return np.concatenate(meters), np.concatenate(stamps), np.concatenate(values)

    def _request_lines(self, path: str, fields: dict[str, str]) -> Iterator[dict[str, Any]]:
        try:
            response = self._http.request(
                "POST",
                self.url + path,
                fields=fields,
                encode_multipart=False,
                preload_content=False,
            )
        except urllib3.exceptions.HTTPError as exc:
            raise self._unreachable(exc) from exc
        try:
            if response.status != 200:
                raise self._server_error("read from", response.status, response.read())
            for line in response:
                if line.strip():
                    yield _json_line(line)
        except urllib3.exceptions.HTTPError as exc:
            raise self._unreachable(exc, "broke off a read") from exc
        finally:
            response.release_conn()

    def _force_flush(self) -> None:
        """Make what was just written searchable (VictoriaMetrics buffers ~1 s in memory)."""
        if not self._flush_endpoint:
            return
        try:
            response = self._http.request("GET", self.url + "/internal/force_flush")
        except urllib3.exceptions.HTTPError as exc:
            raise self._unreachable(exc) from exc
        if response.status >= 500:
            raise self._server_error("flush", response.status, response.data)
        if response.status != 200:
            self._flush_endpoint = False
            log.warning(
                "%s/internal/force_flush answered HTTP %s (not a single-node VictoriaMetrics?): "
                "reads may miss the last second or two of writes",
                self.url,
                response.status,
            )

    def _flux(self, start: float | None, end: float | None) -> tuple[Any, Any, Any]:
        # Untested here (no InfluxDB 2.x on the build machines); kept to the one query.
        query = (
            "from(bucket: params.bucket)\n"
            "  |> range(start: params.start, stop: params.stop)\n"
            '  |> filter(fn: (r) => r._measurement == params.measurement and r._field == "value")\n'
            '  |> keep(columns: ["_time", "_value", "meter"])'
        )
        params = {
            "bucket": self.bucket,
            "measurement": self.measurement,
            "start": datetime.fromtimestamp(math.floor((start or 0.0) * 1000) / 1000, UTC),
            "stop": datetime.fromtimestamp(
                math.ceil((end if end is not None else _FAR_FUTURE_S) * 1000) / 1000 + 0.001, UTC
            ),
        }
        rows: list[tuple[int, float, float]] = []
        try:
            for record in self._client.query_api().query_stream(query, org=self.org, params=params):
                index = self._index_of.get(record.values.get("meter", ""))
                if index is not None:
                    ms = round(record.get_time().timestamp() * 1000)
                    rows.append((index, ms / 1000.0, float(record.get_value())))
        except ApiException as exc:
            raise self._server_error("query", exc.status, exc.body) from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise self._unreachable(exc) from exc
        if not rows:
            return _empty_columns()
        meter, ts, value = zip(*rows)
        return np.array(meter, np.int32), np.array(ts, np.float64), np.array(value, np.float64)

    # -- lifecycle ----------------------------------------------------------------
    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._client.close()
        self._http.clear()

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError(f"history store {self.url} (bucket {self.bucket!r}) is closed")


def _json_line(line: bytes) -> dict[str, Any]:
    try:
        parsed: dict[str, Any] = orjson.loads(line)
    except orjson.JSONDecodeError:
        # VictoriaMetrics writes non-finite samples as bare NaN / +Inf / -Inf, which
        # orjson refuses; the stdlib parser takes them (and reads drop them).
        parsed = json.loads(line.replace(b"+Inf", b"Infinity").replace(b"-Inf", b"-Infinity"))
    return parsed


def _empty_columns() -> tuple[Any, Any, Any]:
    return np.empty(0, np.int32), np.empty(0, np.float64), np.empty(0, np.float64)


def _one_point_per_key(meter: np.ndarray, ts: np.ndarray, value: np.ndarray) -> ReadingBatch:
    """Sorted by (meter, ts), one point per key: the largest value, as VictoriaMetrics' dedup."""
    finite = np.isfinite(value)
    meter, ts, value = meter[finite], ts[finite], value[finite]
    order = np.lexsort((value, ts, meter))
    meter, ts, value = meter[order], ts[order], value[order]
    last_of_key = np.ones(len(ts), dtype=bool)
    last_of_key[:-1] = (meter[1:] != meter[:-1]) | (ts[1:] != ts[:-1])
    return ReadingBatch(
        meter[last_of_key].astype(np.int32, copy=False),
        ts[last_of_key].astype(np.float64, copy=False),
        value[last_of_key].astype(np.float64, copy=False),
    )
