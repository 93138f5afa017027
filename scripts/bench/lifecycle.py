#!/usr/bin/env python3
"""A run's lifecycle at scale, each figure against the same components without flowctl run,
interleaved in one run; then flowctl's footprint while 100 components heartbeat.

    .venv/bin/python scripts/bench/lifecycle.py [--sizes 3 25 100] [--rounds 3]
        [--footprint-seconds 15] [--footprint-components 100] [--footprint-rounds 1]
        [--baseline DIR]

The components are flowctl.sdk programs (`run_component`, no work: they register and
heartbeat until SIGTERM). For each size, each round does both, in alternating order:
- `flowctl run` of a pipeline of N such sources, from its start to "all N components
  registered", then Ctrl+C and the time until flowctl has exited (its components' exits
  included); registrations counted from flowctl's own "registered" lines (more than N:
  a component registered twice);
- the baseline: the same N programs started directly (a Popen loop) against an already
  running `flowctl server`, from the first start until each one logged its registration,
  then SIGTERM to all and the time until the last one exited;
- a failure: `flowctl run` of the same pipeline, one component SIGKILLed after the
  barrier, and the time from its death until flowctl (having stopped the others) exited.
Footprint: `flowctl run` of --footprint-components components heartbeating every second;
after the barrier, flowctl's own process is sampled for --footprint-seconds: its CPU
(utime + stime from /proc/<pid>/stat) as a share of one core and per heartbeat, and its RSS.
With --baseline DIR (another version of flowctl's tree, e.g. `git archive HEAD src | tar
-x -C DIR`), the footprint is measured --footprint-rounds times for each version, in
alternating order, and their ratio printed round by round.
Run by hand; the suite never asserts timings.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

BIN = Path(sys.executable).parent
FLOWCTL = str(BIN / "flowctl")
ENV = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
TICK = os.sysconf("SC_CLK_TCK")
COMPONENT = [
    sys.executable,
    "-c",
    "import sys; from flowctl.sdk import run_component; "
    "sys.exit(run_component(service_type='source'))",
]


def write_pipeline(folder: Path, size: int) -> Path:
    lines = ["apiVersion: v1", "kind: Pipeline", "metadata: {name: bench}", "spec:", "  sources:"]
    command = ", ".join(f'"{part}"' for part in COMPONENT)
    lines += [f"    - {{id: c{index}, command: [{command}]}}" for index in range(size)]
    path = folder / f"bench-{size}.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def start_flowctl_run(
    pipeline: Path, logs: Path, *options: str, tree: Path | None = None
) -> subprocess.Popen[str]:
    """`flowctl run`, of the installed flowctl or of another `tree` (its src first on the
    path: the installed one is an editable .pth entry, which PYTHONPATH comes before)."""
    flowctl = [FLOWCTL]
    env = ENV
    if tree is not None:
        flowctl = [sys.executable, "-c", "from flowctl.cli.app import main; main()"]
        env = {**ENV, "PYTHONPATH": str(tree.resolve() / "src")}
    return subprocess.Popen(
        [
            *(*flowctl, "run", str(pipeline), "--control-plane-port", "0"),
            *("--log-dir", str(logs), "--no-status", "--registration-timeout", "5m", *options),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


class LineCounter:
    """Reads a process's output on a thread: counts flowctl's "registered" lines and sets
    an event when the barrier line comes."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.registrations = 0
        self.barrier = threading.Event()
        self.tail: list[str] = []
        self._process = process
        self._thread = threading.Thread(target=self._read, args=(process,), daemon=True)
        self._thread.start()

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self.tail = [*self.tail[-19:], line]
            if re.search(r"flowctl\s+\| registered ", line):
                self.registrations += 1
            if re.search(r"components? registered", line):
                self.barrier.set()

    def wait_for_barrier(self) -> None:
        """Until the barrier line; RuntimeError with flowctl's last lines if it exits first."""
        while not self.barrier.wait(timeout=0.05):
            if self._process.poll() is not None:
                self._thread.join(timeout=5)
                if not self.barrier.is_set():
                    raise RuntimeError(
                        "flowctl run ended before its barrier:\n" + "".join(self.tail)
                    )

    def join(self) -> None:
        self._thread.join(timeout=30)


def flowctl_round(pipeline: Path, logs: Path) -> tuple[float, float, int]:
    """(seconds to the barrier, seconds from Ctrl+C to exit, registrations seen)."""
    start = time.perf_counter()
    process = start_flowctl_run(pipeline, logs)
    lines = LineCounter(process)
    lines.wait_for_barrier()
    to_barrier = time.perf_counter() - start
    stop = time.perf_counter()
    process.send_signal(signal.SIGINT)
    process.wait(timeout=120)
    to_exit = time.perf_counter() - stop
    lines.join()
    return to_barrier, to_exit, lines.registrations


def failure_round(pipeline: Path, logs: Path) -> float:
    """Seconds from one component's death (SIGKILL, after the barrier) until flowctl,
    having stopped the others, has exited."""
    process = start_flowctl_run(pipeline, logs)
    lines = LineCounter(process)
    lines.wait_for_barrier()
    time.sleep(0.5)  # past the barrier's own work
    # Each thread's children (a component may be spawned from a worker thread).
    children = [
        pid
        for task in Path(f"/proc/{process.pid}/task").iterdir()
        for pid in (task / "children").read_text().split()
    ]
    victim = next(
        pid
        for pid in map(int, children)
        if b"run_component" in Path(f"/proc/{pid}/cmdline").read_bytes()
    )
    died = time.perf_counter()
    os.kill(victim, signal.SIGKILL)
    status = process.wait(timeout=120)
    to_exit = time.perf_counter() - died
    lines.join()
    assert status == 1, f"flowctl run ended with {status} after a component was killed"
    return to_exit


def direct_round(size: int, endpoint: str) -> tuple[float, float]:
    """(seconds until all registered, seconds from SIGTERM until all exited)."""
    start = time.perf_counter()
    children = [
        subprocess.Popen(
            COMPONENT,
            env={
                **ENV,
                "FLOWCTL_ENDPOINT": endpoint,
                "FLOWCTL_SERVICE_ID": f"c{index}",
                "FLOWCTL_COMPONENT_ID": f"c{index}",
                "ENABLE_FLOWCTL": "true",
            },
            stderr=subprocess.PIPE,
            text=True,
        )
        for index in range(size)
    ]
    for child in children:
        assert child.stderr is not None
        for line in child.stderr:
            if "registered with the control plane" in line:
                break
    to_registered = time.perf_counter() - start
    stop = time.perf_counter()
    for child in children:
        child.terminate()
    for child in children:
        child.wait()
    to_exit = time.perf_counter() - stop
    return to_registered, to_exit


def spread(values: Sequence[float], scale: float = 1000.0) -> str:
    return (
        f"{min(values) * scale:6.0f} {statistics.median(values) * scale:6.0f} "
        f"{max(values) * scale:6.0f}"
    )


def lifecycle(sizes: list[int], rounds: int, folder: Path) -> None:
    server = subprocess.Popen(
        [FLOWCTL, "server", "--port", "0", "--no-persistence"],
        env=ENV,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    endpoint = ""
    for line in server.stdout:
        if found := re.search(r"listening on (\S+:\d+)", line):
            endpoint = found.group(1)
            break
    try:
        for size in sizes:
            pipeline = write_pipeline(folder, size)
            run_barrier, run_exit, direct_up, direct_exit, ratios = [], [], [], [], []
            registrations, run_failure = [], []
            for index in range(rounds):
                order = ["run", "direct"] if index % 2 == 0 else ["direct", "run"]
                for which in order:
                    if which == "run":
                        barrier, stop, seen = flowctl_round(pipeline, folder / "logs")
                        run_barrier.append(barrier)
                        run_exit.append(stop)
                        registrations.append(seen)
                        run_failure.append(failure_round(pipeline, folder / "logs"))
                    else:
                        up, stop = direct_round(size, endpoint)
                        direct_up.append(up)
                        direct_exit.append(stop)
                ratios.append(run_barrier[-1] / direct_up[-1])
            print(f"\n{size} components, {rounds} rounds (ms: min median max)")
            print(f"  flowctl run to the barrier        {spread(run_barrier)}")
            print(f"  started directly, all registered  {spread(direct_up)}")
            low, mid, high = min(ratios), statistics.median(ratios), max(ratios)
            print(f"  ratio, paired round by round      {low:6.2f} {mid:6.2f} {high:6.2f}")
            print(f"  flowctl run, Ctrl+C to exit       {spread(run_exit)}")
            print(f"  direct, SIGTERM to all exited     {spread(direct_exit)}")
            print(f"  flowctl run, a component killed   {spread(run_failure)}")
            print("    (from its death until flowctl, having stopped the rest, exited)")
            print(f"  registrations seen per run        {registrations} (components: {size})")
    finally:
        server.terminate()
        server.wait(timeout=30)


def footprints(
    components: int, seconds: float, rounds: int, baseline: Path | None, folder: Path
) -> None:
    if baseline is None:
        for _ in range(rounds):
            footprint(components, seconds, folder)
        return
    shares: dict[str, list[float]] = {"this tree": [], "baseline": []}
    for index in range(rounds):
        order = [None, baseline] if index % 2 == 0 else [baseline, None]
        for tree in order:
            share = footprint(components, seconds, folder, tree)
            shares["baseline" if tree else "this tree"].append(share)
    ratios = [a / b for a, b in zip(shares["this tree"], shares["baseline"], strict=True)]
    print(f"\nfootprint, {rounds} rounds each (min median max)")
    for name, values in shares.items():
        low, mid, high = min(values), statistics.median(values), max(values)
        per_beat = [value * 1e6 / components for value in (low, mid, high)]
        print(
            f"  {name:10} {low:6.1%} {mid:6.1%} {high:6.1%} of one core, "
            + " ".join(f"{us:5.0f}" for us in per_beat)
            + " us per heartbeat"
        )
    low, mid, high = min(ratios), statistics.median(ratios), max(ratios)
    print(f"  this tree / baseline, paired: {low:.2f} {mid:.2f} {high:.2f}")


def footprint(components: int, seconds: float, folder: Path, tree: Path | None = None) -> float:
    """flowctl's CPU as a share of one core while `components` heartbeat every second."""
    pipeline = write_pipeline(folder, components)
    process = start_flowctl_run(pipeline, folder / "logs", "--heartbeat-interval", "1s", tree=tree)
    lines = LineCounter(process)
    try:
        lines.wait_for_barrier()
        time.sleep(2)  # let the start settle: the first heartbeats come right after it
        stat = Path(f"/proc/{process.pid}/stat")

        def cpu() -> float:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / TICK

        rss = []
        before, started = cpu(), time.perf_counter()
        while time.perf_counter() - started < seconds:
            time.sleep(1)
            status = Path(f"/proc/{process.pid}/status").read_text()
            found = re.search(r"VmRSS:\s+(\d+) kB", status)
            if found:
                rss.append(int(found.group(1)) / 1024)
        used, elapsed = cpu() - before, time.perf_counter() - started
        share = used / elapsed
        which = f" (baseline {tree})" if tree else ""
        print(f"\nfootprint: {components} components heartbeating every 1s, {elapsed:.0f}s{which}")
        print(f"  flowctl CPU      {share * 100:5.1f}% of one core")
        print(f"  per heartbeat    {used / (elapsed * components) * 1e6:5.0f} us of CPU")
        print(f"  flowctl RSS      {min(rss):5.1f} .. {max(rss):5.1f} MB")
        return share
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=120)
        lines.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[3, 25, 100])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--footprint-seconds", type=float, default=15.0)
    parser.add_argument("--footprint-components", type=int, default=100)
    parser.add_argument("--footprint-rounds", type=int, default=1)
    parser.add_argument("--baseline", type=Path, help="another flowctl tree to compare with")
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start")
    with tempfile.TemporaryDirectory(prefix="flowctl-bench-") as folder:
        if args.sizes:
            lifecycle(args.sizes, args.rounds, Path(folder))
        if args.footprint_seconds > 0:
            footprints(
                args.footprint_components,
                args.footprint_seconds,
                args.footprint_rounds,
                args.baseline,
                Path(folder),
            )
    print(f"\nload average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
