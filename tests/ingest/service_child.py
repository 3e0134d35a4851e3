"""The ingest process of the crash and outage tests: the service itself (``Service``
from a site.yaml, as ``lifesign run`` builds it), so a restart is the service's own
restart path: history replayed into the detector, the duplicate filter rebuilt from
the store, the broker's persistent session picked up.

    python service_child.py SITE_YAML DUMP_NPZ

It prints ``ready N`` (N: readings replayed at start) once subscribed, writes its
ingest counters to ``<data_dir>/counters-<pid>.json`` every 0.1 s, and on SIGTERM
stops the service and dumps the detector state to DUMP_NPZ. The tests kill it at a
chosen point with ``LIFESIGN_FAULT`` (see ingest/faults.py).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from pathlib import Path

import numpy as np

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1] / "support")]

from ingest_testkit import state_arrays

from app.service import Service, ServiceParts
from app.site import SiteConfig
from lifesign.clock import WallClock

#: a bound on the broker granting the subscription, so a broken start fails instead of hanging
SUBSCRIBE_TIMEOUT_S = 60.0


def main() -> int:
    site_file, dump = Path(sys.argv[1]), Path(sys.argv[2])
    site = SiteConfig.load(site_file)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    service = Service(ServiceParts.from_site(site), WallClock())
    replayed = service.start()
    if not service.ingestor.wait_subscribed(SUBSCRIBE_TIMEOUT_S):
        print("not subscribed", flush=True)
        service.stop()
        return 1
    print(f"ready {replayed}", flush=True)
    counters = site.data_dir / f"counters-{os.getpid()}.json"

    def publish_counters() -> None:  # atomically: the test polls the file
        tmp = counters.with_suffix(".tmp")
        tmp.write_text(json.dumps(service.ingestor.counters.snapshot()))
        os.replace(tmp, counters)

    while not stop.wait(0.1):
        publish_counters()
    service.stop()
    publish_counters()
    np.savez(dump, **state_arrays(service.detector))
    return 0


if __name__ == "__main__":
    sys.exit(main())
