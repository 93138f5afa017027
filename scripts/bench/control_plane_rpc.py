#!/usr/bin/env python3
"""Unary Heartbeat calls through four control planes, interleaved in one run: `flowctl
server` in memory and with its SQLite file, the same ControlPlaneService on plain asyncio
grpclib (what the trio bridge costs), and a grpcio.aio reference doing the same work in
memory (what grpclib and h2 cost).

    .venv/bin/python scripts/bench/control_plane_rpc.py [--callers 1 16 64] [--rounds 3]
        [--seconds 2] [--processes 2] [--subjects flowctl asyncio grpcio sqlite asyncio-3w]
        [--paced 1] [--baseline DIR]

Every server runs in its own process for the whole run. For each number of callers, each
round loads every subject once, in turn (A B C D, then B C D A, ...), so that a change of
the machine's load hits all of them alike. The load comes from --processes separate grpcio
processes (one grpcio channel, so one connection, per caller, as components have), each
caller registering once and then calling Heartbeat with 3 metrics as fast as it is
answered, for --seconds. Printed per subject: calls/s, p50 and p99 latency, and the
server's CPU per call (utime + stime of its process from /proc/<pid>/stat over the round),
as min/median/max over the rounds; then each subject's ratio to `flowctl` paired round by
round. With --paced R, each caller calls R times a second instead of as fast as answered
(its calls spread evenly over the second): the footprint of components heartbeating, where
every call wakes the server on its own. With --baseline DIR (a copy of another version of
flowctl's tree, e.g. `git archive HEAD src | tar -x -C DIR`), every subject also runs from
DIR/src as `NAME@base`, interleaved with the rest. Run by hand; the suite never asserts
timings.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

BIN = Path(sys.executable).parent
ENV = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
TICK = os.sysconf("SC_CLK_TCK")
HEARTBEAT = "/flowctl.ControlPlane/Heartbeat"
REGISTER = "/flowctl.ControlPlane/Register"

# -- the subjects (each started as `python control_plane_rpc.py --serve NAME` or flowctl) --


def serve_plain_asyncio(gather_writes: bool = True) -> None:
    """flowctl's own server class and service, on asyncio alone (no trio, no bridge);
    `gather_writes=False`: with grpclib's own connection protocol, three socket writes per
    unary response instead of one (the subject `asyncio-3w`)."""
    from grpclib.protocol import H2Protocol

    from flowctl.controlplane.grpc_server import TrackingServer
    from flowctl.controlplane.registry import ServiceRegistry
    from flowctl.controlplane.service import ControlPlaneService

    if not gather_writes:
        TrackingServer.protocol_class = H2Protocol

    async def main() -> None:
        server = TrackingServer([ControlPlaneService(ServiceRegistry())])
        await server.start("127.0.0.1", 0)
        print(f"control plane listening on 127.0.0.1:{server.bound_port()}", flush=True)
        await server.wait_closed()

    asyncio.run(main())


def serve_grpcio_reference() -> None:
    """grpcio.aio decoding the same messages with the same decoders as flowctl (betterproto
    for Register, flowctl's hand decoder for Heartbeat) and keeping the same state (a dict
    of services with their metrics), without flowctl's registry."""
    import grpc
    from betterproto.lib.google.protobuf import Empty

    from flowctl._proto import flowctl as pb
    from flowctl.controlplane.heartbeat_decoding import decode_heartbeat

    services: dict[str, dict[str, float]] = {}
    empty = bytes(Empty())

    async def register(info: pb.ServiceInfo, context: grpc.aio.ServicerContext) -> bytes:
        service_id = info.service_id or str(uuid.uuid4())
        services[service_id] = {}
        return bytes(pb.RegistrationAck(service_id=service_id))

    async def heartbeat(
        beat: tuple[str, dict[str, float]], context: grpc.aio.ServicerContext
    ) -> bytes:
        service_id, metrics = beat
        if service_id not in services:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"service {service_id} not found")
        services[service_id] = metrics
        return empty

    handler = grpc.method_handlers_generic_handler(
        "flowctl.ControlPlane",
        {
            "Register": grpc.unary_unary_rpc_method_handler(
                register, request_deserializer=lambda data: pb.ServiceInfo().parse(data)
            ),
            "Heartbeat": grpc.unary_unary_rpc_method_handler(
                heartbeat, request_deserializer=decode_heartbeat
            ),
        },
    )

    async def main() -> None:
        server = grpc.aio.server()
        server.add_generic_rpc_handlers((handler,))
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        print(f"control plane listening on 127.0.0.1:{port}", flush=True)
        await server.wait_for_termination()

    asyncio.run(main())


# -- the load generator (`python control_plane_rpc.py --load ENDPOINT CALLERS SECONDS`) --


def generate_load(endpoint: str, callers: int, seconds: float, paced: float = 0.0) -> None:
    """Register `callers` services, say "ready", wait for "go" on stdin, call Heartbeat for
    `seconds` (as fast as answered, or `paced` times a second per caller), then print
    {"calls": N, "latencies_us": [...]} as one JSON line."""
    import grpc

    from flowctl._proto import flowctl as pb

    async def main() -> None:
        channels = [
            # A channel of its own per caller: one connection each, as components have.
            grpc.aio.insecure_channel(endpoint, options=[("grpc.use_local_subchannel_pool", 1)])
            for _ in range(callers)
        ]
        beats = []
        for channel in channels:
            info = bytes(pb.ServiceInfo(service_type=pb.ServiceType.SOURCE))
            ack = pb.RegistrationAck().parse(await channel.unary_unary(REGISTER)(info))
            beat = pb.ServiceHeartbeat(
                service_id=ack.service_id,
                metrics={"total_processed": 1.0, "success_count": 1.0, "error_count": 0.0},
            )
            beats.append((channel.unary_unary(HEARTBEAT), bytes(beat)))
        for call, beat in beats:  # warm every connection up before the clock starts
            await call(beat)
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        latencies: list[int] = []
        stop_at = time.perf_counter() + seconds

        async def caller(call: grpc.aio.UnaryUnaryMultiCallable, beat: bytes, phase: float) -> None:
            next_at = time.perf_counter() + phase
            while next_at < stop_at:
                if paced:
                    await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
                    next_at += 1 / paced
                started = time.perf_counter()
                await call(beat)
                latencies.append(round((time.perf_counter() - started) * 1e6))
                if not paced:
                    next_at = time.perf_counter()

        # Paced callers start spread over one interval, as components started apart are.
        phases = [index / (paced * len(beats)) if paced else 0.0 for index in range(len(beats))]
        await asyncio.gather(
            *(caller(call, beat, phase) for (call, beat), phase in zip(beats, phases, strict=True))
        )
        print(json.dumps({"calls": len(latencies), "latencies_us": latencies}), flush=True)
        for channel in channels:
            await channel.close()

    asyncio.run(main())


# -- the driver ---------------------------------------------------------------------------


@dataclass
class Subject:
    name: str
    command: list[str]
    process: subprocess.Popen[str] | None = None
    endpoint: str = ""
    env: dict[str, str] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.command, env=self.env or ENV, stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        for line in self.process.stdout:
            found = re.search(r"listening on (\S+:\d+)", line)
            if found:
                self.endpoint = found.group(1)
                return
        raise RuntimeError(f"{self.name}: {self.command} never said where it listens")

    def cpu_seconds(self) -> float:
        assert self.process is not None
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@dataclass
class Round:
    calls_per_second: float
    p50_us: float
    p99_us: float
    cpu_us_per_call: float


def load_round(
    subject: Subject, callers: int, processes: int, seconds: float, paced: float = 0.0
) -> Round:
    shares = [callers // processes + (i < callers % processes) for i in range(processes)]
    loads = [
        subprocess.Popen(
            [
                *(sys.executable, __file__, "--load", subject.endpoint, str(share)),
                *(str(seconds), str(paced)),
            ],
            env=ENV,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for share in shares
        if share
    ]
    for load in loads:
        assert load.stdout is not None
        if load.stdout.readline().strip() != "ready":
            raise RuntimeError(f"a load generator against {subject.name} failed")
    cpu_before = subject.cpu_seconds()
    started = time.perf_counter()
    for load in loads:
        assert load.stdin is not None
        load.stdin.write("go\n")
        load.stdin.flush()
    results = []
    for load in loads:
        assert load.stdout is not None
        results.append(json.loads(load.stdout.readline()))
    elapsed = time.perf_counter() - started
    cpu = subject.cpu_seconds() - cpu_before
    for load in loads:
        load.wait()
    latencies = sorted(value for result in results for value in result["latencies_us"])
    calls = len(latencies)
    return Round(
        calls_per_second=calls / elapsed,
        p50_us=latencies[calls // 2],
        p99_us=latencies[min(calls - 1, calls * 99 // 100)],
        cpu_us_per_call=cpu * 1e6 / calls,
    )


def spread(values: Sequence[float], form: str) -> str:
    low, mid, high = min(values), statistics.median(values), max(values)
    return f"{low:{form}} {mid:{form}} {high:{form}}"


def report(callers: int, names: list[str], rounds: dict[str, list[Round]]) -> None:
    print(f"\n{callers} caller(s), {len(rounds[names[0]])} rounds (min median max)")
    print(f"{'subject':10} {'calls/s':>20} {'p50 us':>20} {'p99 us':>20} {'CPU us/call':>20}")
    figures: list[tuple[str, Callable[[Round], float], str]] = [
        ("calls/s", lambda r: r.calls_per_second, "6.0f"),
        ("p50", lambda r: r.p50_us, "6.0f"),
        ("p99", lambda r: r.p99_us, "6.0f"),
        ("cpu", lambda r: r.cpu_us_per_call, "6.0f"),
    ]
    for name in names:
        cells = [spread([pick(r) for r in rounds[name]], form) for _, pick, form in figures]
        print(f"{name:10} " + " ".join(f"{cell:>20}" for cell in cells))
    base = names[0]
    for name in names[1:]:
        pairs = list(zip(rounds[base], rounds[name], strict=True))
        speed = [b.calls_per_second / o.calls_per_second for b, o in pairs]
        cpu = [b.cpu_us_per_call / o.cpu_us_per_call for b, o in pairs]
        print(
            f"{base} / {name}: calls/s x{spread(speed, '.2f')}   CPU per call x{spread(cpu, '.2f')}"
        )


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        servers = {
            "asyncio": serve_plain_asyncio,
            "asyncio-3w": lambda: serve_plain_asyncio(gather_writes=False),
            "grpcio": serve_grpcio_reference,
        }
        servers[sys.argv[2]]()
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--load":
        generate_load(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--callers", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--subjects", nargs="+", default=["flowctl", "asyncio", "grpcio", "sqlite"])
    parser.add_argument(
        "--paced", type=float, default=0.0, help="calls per second per caller (0: unpaced)"
    )
    parser.add_argument("--baseline", type=Path, help="another flowctl tree, run as NAME@base")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="flowctl-bench-"))
    flowctl = [str(BIN / "flowctl"), "server", "--port", "0"]
    known = {
        "flowctl": Subject("flowctl", [*flowctl, "--no-persistence"]),
        "sqlite": Subject("sqlite", [*flowctl, "--db-path", str(scratch / "registry.sqlite3")]),
        "asyncio": Subject("asyncio", [sys.executable, __file__, "--serve", "asyncio"]),
        "grpcio": Subject("grpcio", [sys.executable, __file__, "--serve", "grpcio"]),
        "asyncio-3w": Subject("asyncio-3w", [sys.executable, __file__, "--serve", "asyncio-3w"]),
    }
    subjects = [known[name] for name in args.subjects]
    if args.baseline:
        # The same commands with the other tree first on the path (flowctl is installed
        # editable, through a .pth entry that PYTHONPATH comes before).
        other = {**ENV, "PYTHONPATH": str(args.baseline.resolve() / "src")}
        flowctl_main = [sys.executable, "-c", "from flowctl.cli.app import main; main()"]
        for subject in list(subjects):
            command = subject.command
            if command[0] == str(BIN / "flowctl"):
                command = [*flowctl_main, *command[1:]]
            subjects.append(Subject(f"{subject.name}@base", command, env=other))
    pace = f", each caller {args.paced:g} calls/s" if args.paced else ""
    print(
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start; "
        f"{args.processes} load processes, {args.seconds:g}s per round{pace}"
    )
    try:
        for subject in subjects:
            subject.start()
        for callers in args.callers:
            rounds: dict[str, list[Round]] = {subject.name: [] for subject in subjects}
            for index in range(args.rounds):
                turn = index % len(subjects)  # A B C D, B C D A, ...: no fixed position
                for subject in subjects[turn:] + subjects[:turn]:
                    rounds[subject.name].append(
                        load_round(
                            subject,
                            callers,
                            min(args.processes, callers),
                            args.seconds,
                            args.paced,
                        )
                    )
            report(callers, [subject.name for subject in subjects], rounds)
    finally:
        for subject in subjects:
            subject.stop()
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
