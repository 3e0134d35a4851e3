"""How long a standby's rebuild takes: a partition's last 48 h of 15-minute readings read
back from a real VictoriaMetrics (``InfluxHistoryStore.read``, the export API) and
observed into a fresh detector, as `lifesign run --partition` does on taking over. The
same-run baseline is the bare export request (bytes over HTTP, nothing parsed).

    .venv/bin/python benchmarks/takeover.py                 # starts its own VictoriaMetrics
    .venv/bin/python benchmarks/takeover.py --homes 1000 5000 10000

A takeover takes the lease's rest (at most ``lease_s``), the standby's poll (at most
``lease_s / 10``, 1 s at most) and this rebuild. The server shares this machine's cores.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np

from app.demo import default_thresholds
from detectors.detector import Detector
from ingest.historystores.influx import InfluxHistoryStore
from lifesign.readings import ReadingBatch
from simulators.cohort import make_cohort

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "support"))
ROUNDS = 192  # 48 h of 15-minute readings: the replay window of the shipped thresholds (24 h + a day)


def fill(url: str, bucket: str, meter_ids: list[str], start: float, seed: int) -> None:
    store = InfluxHistoryStore(url, "", "", bucket, meter_ids)
    rng = np.random.default_rng(seed)
    registers = np.round(rng.random(len(meter_ids)) * 1000, 3)
    meters = np.arange(len(meter_ids), dtype=np.int32)
    for r in range(ROUNDS):
        registers = np.round(registers + rng.choice([0.0, 0.0, 0.001, 0.013], size=len(meter_ids)), 3)
        store.write(ReadingBatch.of(meters, np.full(len(meter_ids), start + r * 900.0), registers))
    store.close()


def bare_export(url: str, bucket: str, start: float) -> int:
    urllib.request.urlopen(url + "/internal/force_flush", timeout=60).read()
    body = urllib.parse.urlencode({"match[]": f'{{__name__="reading_value",db="{bucket}"}}',
                                   "start": f"{start:.3f}"}).encode()
    with urllib.request.urlopen(url + "/api/v1/export", body, timeout=600) as answer:
        return len(answer.read())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--homes", type=int, nargs="+", default=[1000, 5000, 10000])
    args = parser.parse_args()
    from brokers import free_port
    from victoria import run_victoria_metrics

    start = float(int(time.time()) // 900 * 900 - ROUNDS * 900)
    print(f"{'homes':>7} {'readings':>11} {'bare export':>12} {'read':>7} {'observe':>8} {'rebuild':>8} "
          f"{'readings/s':>11}")
    with tempfile.TemporaryDirectory() as folder, run_victoria_metrics(free_port(), Path(folder) / "vm") as vm:
        for homes in args.homes:
            cohort = make_cohort(homes, 1)
            meter_ids = [str(m) for m in cohort.registry.meter_ids]
            bucket = f"takeover{homes}"
            fill(vm.url, bucket, meter_ids, start, homes)
            began = time.perf_counter()
            bare_export(vm.url, bucket, start - 1)
            bare_s = time.perf_counter() - began
            reader = InfluxHistoryStore(vm.url, "", "", bucket, meter_ids)
            began = time.perf_counter()
            history = reader.read(start=start - 1)
            read_s = time.perf_counter() - began
            detector = Detector(cohort.registry, default_thresholds())
            began = time.perf_counter()
            detector.observe(history)
            observe_s = time.perf_counter() - began
            reader.close()
            total = read_s + observe_s
            print(f"{homes:>7,} {len(history):>11,} {bare_s:>10.2f} s {read_s:>5.2f} s {observe_s:>6.2f} s "
                  f"{total:>6.2f} s {len(history) / total:>11,.0f}")


if __name__ == "__main__":
    main()
