#!/usr/bin/env python3
"""Heartbeats per second through the control plane: flowctl's server (grpclib on trio
through trio-asyncio) against the same service on plain asyncio grpclib, the baseline.

    .venv/bin/python scripts/bench/control_plane_rpc.py [--clients 8] [--seconds 5] [--repeat 3]

Each server runs in its own process; one client process keeps --clients connections busy
with Heartbeat calls (each registered first) for --seconds. The ratio is what the trio
bridge costs per call. Run by hand; the suite never asserts timings.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

from grpclib.client import Channel

from flowctl._proto import flowctl as pb

BIN = Path(sys.executable).parent
ENV = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}

# The baseline: the very same ControlPlaneService and registry, served by asyncio alone.
PLAIN_ASYNCIO_SERVER = """
import asyncio
from grpclib.server import Server
from flowctl.controlplane.registry import ServiceRegistry
from flowctl.controlplane.service import ControlPlaneService

async def main():
    server = Server([ControlPlaneService(ServiceRegistry())])
    await server.start("127.0.0.1", 0)
    port = server._server.sockets[0].getsockname()[1]
    print(f"control plane listening on 127.0.0.1:{port}", flush=True)
    await server.wait_closed()

try:
    asyncio.run(main())
except KeyboardInterrupt:  # how the benchmark stops it
    pass
"""


def start(command: list[str]) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(command, env=ENV, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    for line in process.stdout:
        found = re.search(r"listening on (\S+):(\d+)", line)
        if found:
            return process, f"{found.group(1)}:{found.group(2)}"
    raise RuntimeError(f"{command} never said where it listens")


async def hammer(endpoint: str, clients: int, seconds: float) -> float:
    host, port = endpoint.rsplit(":", 1)
    channels = [Channel(host, int(port)) for _ in range(clients)]
    count = 0

    async def client(channel: Channel) -> None:
        nonlocal count
        stub = pb.ControlPlaneStub(channel)
        ack = await stub.register(pb.ServiceInfo(service_type=pb.ServiceType.SOURCE))
        beat = pb.ServiceHeartbeat(service_id=ack.service_id, metrics={"total_processed": 1.0})
        stop_at = time.perf_counter() + seconds
        while time.perf_counter() < stop_at:
            await stub.heartbeat(beat)
            count += 1

    started = time.perf_counter()
    await asyncio.gather(*(client(channel) for channel in channels))
    elapsed = time.perf_counter() - started
    for channel in channels:
        channel.close()
    return count / elapsed


def measure(command: list[str], args: argparse.Namespace) -> float:
    process, endpoint = start(command)
    try:
        return statistics.median(
            asyncio.run(hammer(endpoint, args.clients, args.seconds)) for _ in range(args.repeat)
        )
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    baseline = measure([sys.executable, "-c", PLAIN_ASYNCIO_SERVER], args)
    flowctl = measure([str(BIN / "flowctl"), "server", "--port", "0", "--no-persistence"], args)
    persistent = measure(
        [str(BIN / "flowctl"), "server", "--port", "0", "--db-path", _scratch_db()], args
    )
    print(f"{args.clients} clients, {args.seconds:g}s, median of {args.repeat}")
    print(f"plain asyncio grpclib       {baseline:8.0f} heartbeats/s   (baseline)")
    print(f"flowctl server (in memory)  {flowctl:8.0f} heartbeats/s   {flowctl / baseline:4.2f}x")
    print(
        f"flowctl server (SQLite)     {persistent:8.0f} heartbeats/s   "
        f"{persistent / baseline:4.2f}x"
    )


def _scratch_db() -> str:
    import tempfile

    return str(Path(tempfile.mkdtemp(prefix="flowctl-bench-")) / "registry.sqlite3")


if __name__ == "__main__":
    main()
