#!/usr/bin/env python3
"""The floor under a heartbeat's cost: a server doing nothing but echo 100 bytes, woken
by each of --connections clients once a second, as components heartbeat.

    .venv/bin/python scripts/bench/wakeup_floor.py [--connections 100] [--seconds 10]
        [--rounds 2]

Subjects, each in its own process, in alternating order: an asyncio Protocol and a trio
stream server (no HTTP/2, no gRPC, no decoding). The client (plain asyncio, in its own
process) spreads its connections' calls evenly over the second. Printed: the server's
CPU (utime + stime from /proc/<pid>/stat) per call, min/median/max over the rounds. What
flowctl spends per heartbeat above this is gRPC, HTTP/2 and its own work; this part is
the interpreter waking up, the event loop's turn and the system calls, on this machine.
Run by hand; the suite never asserts timings.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")
MESSAGE = b"x" * 100


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def serve_asyncio() -> None:
    class Echo(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            assert isinstance(transport, asyncio.Transport)
            self.transport = transport

        def data_received(self, data: bytes) -> None:
            self.transport.write(data)

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(Echo, "127.0.0.1", 0)
        print(server.sockets[0].getsockname()[1], flush=True)
        await server.serve_forever()

    asyncio.run(main())


def serve_trio() -> None:
    import trio

    async def echo(stream: trio.SocketStream) -> None:
        while data := await stream.receive_some():
            await stream.send_all(data)

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            listeners = await nursery.start(trio.serve_tcp, echo, 0)
            print(listeners[0].socket.getsockname()[1], flush=True)

    trio.run(main)


def client(port: int, connections: int, seconds: float) -> None:
    async def main() -> None:
        pairs = [await asyncio.open_connection("127.0.0.1", port) for _ in range(connections)]
        calls = 0
        stop_at = time.perf_counter() + seconds

        async def caller(
            reader: asyncio.StreamReader, writer: asyncio.StreamWriter, phase: float
        ) -> None:
            nonlocal calls
            next_at = time.perf_counter() + phase
            while next_at < stop_at:
                await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
                next_at += 1.0
                writer.write(MESSAGE)
                await reader.readexactly(len(MESSAGE))
                calls += 1

        await asyncio.gather(
            *(caller(r, w, index / connections) for index, (r, w) in enumerate(pairs))
        )
        print(calls, flush=True)

    asyncio.run(main())


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        {"asyncio": serve_asyncio, "trio": serve_trio}[sys.argv[2]]()
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--client":
        client(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start")
    subjects = ["asyncio", "trio"]
    per_call: dict[str, list[float]] = {name: [] for name in subjects}
    for index in range(args.rounds):
        for name in subjects if index % 2 == 0 else subjects[::-1]:
            server = subprocess.Popen(
                [sys.executable, __file__, "--serve", name], stdout=subprocess.PIPE, text=True
            )
            assert server.stdout is not None
            port = server.stdout.readline().strip()
            before = cpu_seconds(server.pid)
            done = subprocess.run(
                [
                    *(sys.executable, __file__, "--client", port),
                    *(str(args.connections), str(args.seconds)),
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            used = cpu_seconds(server.pid) - before
            server.kill()
            server.wait()
            per_call[name].append(used / int(done.stdout) * 1e6)
    print(f"{args.connections} connections, each one call a second, {args.seconds:g}s a round")
    for name, values in per_call.items():
        low, mid, high = min(values), statistics.median(values), max(values)
        print(f"  {name:8} server CPU per call: {low:5.0f} {mid:5.0f} {high:5.0f} us")
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
