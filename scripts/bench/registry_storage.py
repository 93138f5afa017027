#!/usr/bin/env python3
"""What a heartbeat costs when the registry is a file (`flowctl server`) rather than memory
(`flowctl run`).

    .venv/bin/python scripts/bench/registry_storage.py [--heartbeats 5000] [--services 20]
        [--repeat 5] [--dir DIR]

Times `ServiceRegistry.heartbeat` on one record among --services, as the gRPC handler calls
it, with InMemoryStorage and with SqliteStorage (a file in --dir, default a temporary
folder; say where it lives when you quote figures). Prints the medians of --repeat rounds
of --heartbeats each, per heartbeat, and the ratio. Run by hand; the suite never asserts
timings.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

from flowctl._proto import flowctl as pb
from flowctl.controlplane import InMemoryStorage, ServiceRegistry, SqliteStorage, Storage

METRICS = {"total_processed": 0.0, "error_count": 0.0, "processing_latency_ms": 1.5}


def per_heartbeat(storage: Storage, heartbeats: int, services: int) -> float:
    """Seconds per heartbeat, registrations excluded."""
    registry = ServiceRegistry(storage=storage)
    for index in range(services):
        registry.register(
            pb.ServiceInfo(
                service_id=f"service-{index}",
                service_type=pb.ServiceType.PROCESSOR,
                input_event_types=["raw_ledger_service.RawLedgerChunk"],
                output_event_types=["token_transfer.TokenTransferEvent"],
                metadata={"component_id": f"service-{index}"},
            )
        )
    target = f"service-{services // 2}"
    started = time.perf_counter()
    for count in range(heartbeats):
        registry.heartbeat(target, {**METRICS, "total_processed": float(count)})
    return (time.perf_counter() - started) / heartbeats


def median_of(repeat: int, measure: Callable[[], float]) -> float:
    return statistics.median(measure() for _ in range(repeat))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--heartbeats", type=int, default=5000)
    parser.add_argument("--services", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()

    def in_memory() -> float:
        return per_heartbeat(InMemoryStorage(), args.heartbeats, args.services)

    def in_a_file() -> float:
        with tempfile.TemporaryDirectory(dir=args.dir) as folder:
            path = Path(folder) / "registry.sqlite3"
            with SqliteStorage(path) as storage:
                return per_heartbeat(storage, args.heartbeats, args.services)

    memory = median_of(args.repeat, in_memory)
    sqlite = median_of(args.repeat, in_a_file)
    where = args.dir or Path(tempfile.gettempdir())
    print(f"{args.heartbeats} heartbeats on 1 of {args.services} services, median of {args.repeat}")
    print(f"InMemoryStorage   {memory * 1e6:8.1f} us/heartbeat")
    print(f"SqliteStorage     {sqlite * 1e6:8.1f} us/heartbeat   (file in {where})")
    print(f"ratio             {sqlite / memory:8.1f}x")


if __name__ == "__main__":
    main()
