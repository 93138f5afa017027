#!/usr/bin/env python3
"""What one step-3 lookup costs (design.md, "Registration"): from a connection's peer
address to the pid that holds it and that pid's ancestors, through /proc.

    .venv/bin/python scripts/bench/attach_lookup.py [--crowd 50] [--repeat 200]

A client (a grandchild, as under `npm start`) holds a connection to a socket of this
process, which plays flowctl. Figures are medians of --repeat lookups:
- alone: only the client's shell and Python are descendants;
- with --crowd unrelated processes (not descendants: they only add to the process table);
- with --crowd descendants (a component with many workers: each one's open files are read).
Run by hand; the suite never asserts timings. Linux only.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

from flowctl.process_identity import OwnedBy, find_connection_owner

SLEEPER = [sys.executable, "-c", "import time; time.sleep(3600)"]
CLIENT = (
    "import socket, time; held = socket.create_connection(('127.0.0.1', {port})); time.sleep(3600)"
)


@contextmanager
def descendants(count: int) -> Iterator[None]:
    processes = [subprocess.Popen(SLEEPER) for _ in range(count)]
    try:
        yield
    finally:
        for process in processes:
            process.kill()
            process.wait()


@contextmanager
def unrelated(count: int) -> Iterator[None]:
    """Sleepers re-parented to init (each started by a subshell that exits at once), so
    they are not our descendants."""
    script = "; ".join(f"({shlex.join(SLEEPER)} >/dev/null 2>&1 & echo $!)" for _ in range(count))
    started = subprocess.run(["sh", "-c", script], check=True, capture_output=True, text=True)
    pids = [int(pid) for pid in started.stdout.split()]
    try:
        yield
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGKILL)


def measure(peer: tuple[str, int], server: tuple[str, int], repeat: int) -> float:
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        owner = find_connection_owner(peer, server)
        timings.append(time.perf_counter() - start)
        assert isinstance(owner, OwnedBy), owner
    return statistics.median(timings)


def process_count() -> int:
    return sum(name.isdigit() for name in os.listdir("/proc"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--crowd", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    children_lists = os.path.exists(f"/proc/{os.getpid()}/task/{os.getpid()}/children")
    print(
        "descendants found through",
        "the kernel's children lists" if children_lists else "every /proc/PID/stat",
    )
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        client_code = shlex.quote(CLIENT.format(port=listener.getsockname()[1]))
        client = subprocess.Popen(
            ["sh", "-c", f"{sys.executable} -c {client_code}; exit $?"], start_new_session=True
        )
        connection, peer = listener.accept()
        server = connection.getsockname()
        try:
            for label, crowd in (
                ("alone", descendants(0)),
                (f"with {args.crowd} unrelated processes", unrelated(args.crowd)),
                (f"with {args.crowd} descendants", descendants(args.crowd)),
            ):
                with crowd:
                    time.sleep(0.5)  # let them start
                    median = measure(peer, server, args.repeat)
                    print(
                        f"{label:36} {median * 1000:7.2f} ms per lookup "
                        f"({process_count()} processes on the host)"
                    )
        finally:
            connection.close()
            os.killpg(client.pid, signal.SIGKILL)  # the shell and its Python
            client.wait()


if __name__ == "__main__":
    main()
