"""`lifesign simulate`: write a simulated dataset with its ground truth, or publish it live.

    lifesign simulate --scenario configs/scenarios/city-day.yaml --out data/city-day
    lifesign simulate --scenario configs/scenarios/demo.yaml --broker 127.0.0.1:1883 --acceleration 3600

Every knob lives in the scenario file (:mod:`simulators.scenario_file`); the flags
here override the few that change from run to run. Without ``--scenario`` a plain
scenario is built from ``--households/--days/--incidents/--seed``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    simulate = sub.add_parser("simulate", help="write a simulated dataset with its ground truth, or publish it live")
    simulate.add_argument("--scenario", type=Path, help="scenario file (configs/scenarios/*.yaml)")
    simulate.add_argument("--out", type=Path, help="write the dataset (readings, cohort, ground truth) here")
    simulate.add_argument("--format", action="append", choices=("csv", "parquet"),
                          help="dataset format (repeatable; default: the scenario file's, else csv)")
    simulate.add_argument("--broker", help="publish live to this MQTT broker, host:port")
    simulate.add_argument("--acceleration", type=float, default=None,
                          help="simulated seconds per wall second when publishing (0: as fast as possible)")
    simulate.add_argument("--report", type=Path, help="write what the gateways sent (faults included) as JSON here")
    simulate.add_argument("--start", help="override the start: auto, epoch seconds or RFC 3339 with offset")
    simulate.add_argument("--households", type=int, default=None)
    simulate.add_argument("--days", type=float, default=None)
    simulate.add_argument("--incidents", type=int, default=None, help="incapacitated residents placed by the seed")
    simulate.add_argument("--seed", type=int, default=None)
    simulate.set_defaults(handler=_simulate)


def _spec(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from simulators.scenario_file import ScenarioSpec

    if args.scenario is not None:
        spec = ScenarioSpec.load(args.scenario)
    else:
        spec = ScenarioSpec.parse("seed: 1\ndays: 7\ncohort: {households: 200}\nincidents: {counts: {incapacitated: 5}}\n",
                                  "<simulate defaults>")
    if args.seed is not None:
        spec = replace(spec, seed=args.seed)
    if args.days is not None:
        spec = replace(spec, days=args.days)
    if args.households is not None:
        spec = replace(spec, cohort={**spec.cohort, "households": float(args.households)})
    if args.incidents is not None:
        spec = replace(spec, counts={**spec.counts, "incapacitated": args.incidents})
    if args.start is not None:
        spec = replace(spec, start=_start(args.start))
    return spec


def _tz(hours: float) -> timezone:
    return timezone(timedelta(hours=hours))


def _start(text: str) -> str | float:
    if text == "auto":
        return "auto"
    try:
        return float(text)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"--start must be auto, epoch seconds or RFC 3339, got {text!r}") from None
    if parsed.tzinfo is None:
        raise ValueError(f"--start must carry a UTC offset (e.g. +08:00), got {text!r}")
    return parsed.timestamp()


def _simulate(args: argparse.Namespace) -> int:
    from simulators.dataset import write_dataset
    from simulators.scenario_file import parse_broker

    if args.out is None and args.broker is None:
        raise ValueError("simulate needs --out DIR (write a dataset) or --broker host:port (publish live), or both")
    if args.broker is not None:
        parse_broker(args.broker)  # a typo fails now, not after writing a dataset
    spec = _spec(args)
    scenario = spec.build()
    print(f"scenario {spec.file}: {scenario.cohort.n_households} homes, {scenario.cohort.registry.n_meters} meters, "
          f"{scenario.days:g} days from {datetime.fromtimestamp(scenario.start, _tz(scenario.utc_offset_hours)).isoformat()}, "
          f"{len(scenario.incidents)} incidents, {len(scenario.absences)} absences", flush=True)
    if args.out is not None:
        formats = tuple(args.format) if args.format else spec.formats
        started = time.monotonic()
        write_dataset(scenario, args.out, formats=formats)
        print(f"wrote {args.out} ({', '.join(formats)}) in {time.monotonic() - started:.1f} s")
    if args.broker is not None:
        report = _publish(args, spec, scenario)
        print(json.dumps(report, indent=2))
        if args.report is not None:
            args.report.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


def _publish(args: argparse.Namespace, spec: Any, scenario: Any) -> dict[str, object]:
    import paho.mqtt.client as mqtt

    from simulators.gateways import GatewayPublisher
    from simulators.network import GatewayNetwork
    from simulators.scenario_file import parse_broker

    host, port = parse_broker(args.broker)
    acceleration = args.acceleration if args.acceleration is not None else spec.live.acceleration
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"lifesign-simulate-{spec.seed}",
                         protocol=mqtt.MQTTv311)
    client.max_inflight_messages_set(1000)
    client.connect(host, port)
    client.loop_start()
    try:
        network = GatewayNetwork(scenario.cohort.registry, spec.faults, seed=spec.seed, cadence=scenario.cadence,
                                 utc_offset_hours=scenario.utc_offset_hours)
        publisher = GatewayPublisher(client, scenario.cohort.registry, qos=spec.live.qos, network=network)
        last = [0.0]

        def progress(i: int, n: int, rnd: Any) -> None:
            now = time.monotonic()
            if i + 1 == n or now - last[0] >= 2.0:
                last[0] = now
                print(f"round {i + 1}/{n}  messages {publisher.messages_published:,}", file=sys.stderr, flush=True)

        started = time.monotonic()
        published = publisher.run(scenario, None, on_round=progress, acceleration=acceleration)
        report = network.report.as_dict()
        report["published"] = published
        report["seconds"] = round(time.monotonic() - started, 3)
        return report
    finally:
        client.disconnect()  # first: it wakes the network thread, which then ends at once
        client.loop_stop()
