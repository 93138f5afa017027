#!/usr/bin/env python3
"""How long one request can hold the control plane's event loop, at the limits.

    .venv/bin/python scripts/bench/handler_limits.py [--repeat 5]

For each request a client may send, the largest that the limits let through and the worst
refused ones, times what the handler does on the event loop before it answers: the wire
check, the decode and the registry call (the network is left out: grpclib reads the
bytes as they come, without holding the loop). ListServices is timed at the registry's
limit of services, cold (every record re-encoded, as after all of them heartbeat) and
warm. The baseline is an ordinary heartbeat with three metrics, in the same run. Prints
the median of --repeat rounds. Run by hand; the suite never asserts timings.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

from flowctl._proto import flowctl as pb
from flowctl.controlplane import ServiceRegistry
from flowctl.controlplane import wire_check as wc
from flowctl.controlplane.limits import DEFAULT_LIMITS as LIMITS
from flowctl.controlplane.status_encoding import EncodedListCache, encode_status
from flowctl.controlplane.wire_check import RequestRejected


def handle(registry: ServiceRegistry, method: str, body: bytes) -> None:
    """What the service does on the loop for one request (see controlplane/service.py)."""
    schema = wc.SERVICE_INFO if method == "Register" else wc.SERVICE_HEARTBEAT
    try:
        wc.check_request(body, schema, LIMITS)
    except RequestRejected:
        return
    if method == "Register":
        registry.register(pb.ServiceInfo().parse(body))
    else:
        message = pb.ServiceHeartbeat().parse(body)
        registry.heartbeat(message.service_id, message.metrics)


def cases() -> dict[str, tuple[str, bytes]]:
    names = [f"n{i:0{LIMITS.max_name_bytes - 1}d}"[: LIMITS.max_name_bytes] for i in range(64)]
    return {
        "heartbeat, 3 metrics (baseline)": (
            "Heartbeat",
            bytes(pb.ServiceHeartbeat(service_id="s", metrics={"a": 1, "b": 2, "c": 3})),
        ),
        f"heartbeat, {LIMITS.max_metrics} metrics (the limit)": (
            "Heartbeat",
            bytes(
                pb.ServiceHeartbeat(
                    service_id="s", metrics={f"m{i}": i for i in range(LIMITS.max_metrics)}
                )
            ),
        ),
        "register, every list and map at its limit": (
            "Register",
            bytes(
                pb.ServiceInfo(
                    service_id="r" * LIMITS.max_id_bytes,
                    service_type=1,
                    input_event_types=names,
                    output_event_types=names,
                    # 64 keys of 1 KiB minus a byte: the 64 KiB of keys and values.
                    metadata={name[:-1]: "" for name in names},
                )
            ),
        ),
        "refused: 100,000 metadata entries": (
            "Register",
            bytes(pb.ServiceInfo(metadata={f"k{i}": "v" for i in range(100_000)})),
        ),
        "refused: a 4 MiB service_id": (
            "Heartbeat",
            bytes(pb.ServiceHeartbeat(service_id="x" * (4 << 20))),
        ),
        "refused: 4 MiB of unknown fields": ("Register", b"\xf8\x01\x01" * ((4 << 20) // 3)),
    }


def median_seconds(action: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    registry = ServiceRegistry()
    registry.register(pb.ServiceInfo(service_id="s", service_type=1))
    results = {
        name: median_seconds(lambda m=method, b=body: handle(registry, m, b), args.repeat)
        for name, (method, body) in cases().items()
    }

    full = ServiceRegistry()
    for n in range(LIMITS.max_services):
        full.register(pb.ServiceInfo(service_id=f"svc-{n}", service_type=2))
        full.heartbeat(f"svc-{n}", {"total_processed": float(n), "error_count": 0.0})
    records = full.list()
    results[f"list {LIMITS.max_services} services, all changed"] = median_seconds(
        lambda: EncodedListCache(encode_status).encode(records), args.repeat
    )
    warm = EncodedListCache(encode_status)
    warm.encode(records)
    results[f"list {LIMITS.max_services} services, none changed"] = median_seconds(
        lambda: warm.encode(records), args.repeat
    )

    baseline = next(iter(results.values()))
    print(f"{'request':<48} {'on the loop':>12} {'x baseline':>11}")
    for name, seconds in results.items():
        print(f"{name:<48} {seconds * 1000:>9.2f} ms {seconds / baseline:>10.1f}x")


if __name__ == "__main__":
    main()
