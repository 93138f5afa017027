#!/usr/bin/env python3
"""How long `flowctl run` takes to get a pipeline past its registration barrier, and how
quick the small commands are, each against a baseline measured in the same run.

    .venv/bin/python scripts/bench/startup.py [--repeat 5] [--sizes 1 5 10] [--baseline DIR]

Figures (medians of --repeat runs):
- `flowctl version` and `flowctl list` against `python -c pass` (interpreter start-up),
  each with its costliest top-level imports from `python -X importtime`; the commands are
  run in turn (pass, version, list, pass, version, list, ...), so that a change of the
  machine's load hits them alike; with --baseline DIR (another version of flowctl's tree,
  e.g. `git archive HEAD src | tar -x -C DIR`), its `version` and `list` join the turn;
- time from `flowctl run` to "all N components registered" against the same N test
  components started directly, registering with an already running `flowctl server`.
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
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
FLOWCTL = str(BIN / "flowctl")
FAKE = [sys.executable, str(ROOT / "tests" / "components" / "fake_component.py")]
ENV = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


def timed(command: list[str], env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(command, env=env or ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def in_turn(
    commands: dict[str, tuple[list[str], dict[str, str] | None]], repeat: int
) -> dict[str, float]:
    """The median time of each command, the commands run in turn `repeat` times."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeat):
        for name, (command, env) in commands.items():
            times[name].append(timed(command, env))
    return {name: statistics.median(values) for name, values in times.items()}


def import_costs(args: list[str], top: int = 5) -> str:
    """The costliest top-level imports of `flowctl ARGS` (`python -X importtime`), in ms."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "flowctl", *args],
        env=ENV,
        capture_output=True,
        text=True,
    )
    costs = []
    for line in result.stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        _, cumulative, name = line.split("|")
        if cumulative.strip().isdigit() and not name.startswith("  "):  # top level only
            costs.append((int(cumulative) / 1000, name.strip()))
    costs.sort(reverse=True)
    return ", ".join(f"{name} {ms:.0f}" for ms, name in costs[:top])


def wait_for_line(process: subprocess.Popen[str], pattern: str) -> re.Match[str]:
    assert process.stdout is not None
    for line in process.stdout:
        found = re.search(pattern, line)
        if found:
            return found
    raise RuntimeError(f"never printed {pattern!r}")


def write_pipeline(folder: Path, size: int) -> Path:
    lines = ["apiVersion: v1", "kind: Pipeline", "metadata: {name: bench}", "spec:", "  sources:"]
    for index in range(size):
        command = ", ".join(f'"{part}"' for part in FAKE)
        lines.append(f"    - {{id: c{index}, command: [{command}]}}")
    path = folder / "bench.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def flowctl_to_barrier(pipeline: Path, logs: Path) -> float:
    start = time.perf_counter()
    process = subprocess.Popen(
        [FLOWCTL, "run", str(pipeline), "--control-plane-port", "0", "--log-dir", str(logs)],
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    wait_for_line(process, r"components? registered")
    elapsed = time.perf_counter() - start
    process.send_signal(signal.SIGINT)
    process.wait(timeout=30)
    return elapsed


def direct_to_registered(size: int, endpoint: str) -> float:
    """Baseline: the same components started directly against a running control plane."""
    env = {**ENV, "FLOWCTL_ENDPOINT": endpoint}
    start = time.perf_counter()
    children = [
        subprocess.Popen(
            [*FAKE, "--register", "id"],
            env={**env, "FLOWCTL_SERVICE_ID": f"c{i}", "FLOWCTL_COMPONENT_ID": f"c{i}"},
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(size)
    ]
    for child in children:
        wait_for_line(child, r"registered as")
    elapsed = time.perf_counter() - start
    for child in children:
        child.terminate()
        child.wait()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--sizes", type=int, nargs="*", default=[1, 5, 10])
    parser.add_argument("--baseline", type=Path, help="another flowctl tree to compare with")
    args = parser.parse_args()
    median = statistics.median

    server = subprocess.Popen(
        [FLOWCTL, "server", "--port", "0", "--no-persistence"],
        env=ENV,
        stdout=subprocess.PIPE,
        text=True,
    )
    endpoint = wait_for_line(server, r"listening on (\S+:\d+)").group(1)
    try:
        listing = ["list", "--endpoint", endpoint]
        commands: dict[str, tuple[list[str], dict[str, str] | None]] = {
            "python -c pass": ([sys.executable, "-c", "pass"], None),
            "flowctl version": ([FLOWCTL, "version"], None),
            "flowctl list": ([FLOWCTL, *listing], None),
        }
        if args.baseline:
            other = {**ENV, "PYTHONPATH": str(args.baseline.resolve() / "src")}
            main = [sys.executable, "-c", "from flowctl.cli.app import main; main()"]
            # Both through the same launcher (the installed script also imports `re`).
            commands["list via -c"] = ([*main, *listing], None)
            commands["baseline list via -c"] = ([*main, *listing], other)
        medians = in_turn(commands, args.repeat)
        python = medians["python -c pass"]
        for name, value in medians.items():
            print(f"{name:22} {value * 1000:7.0f} ms   {value / python:5.1f}x")
        if args.baseline:
            ratio = medians["list via -c"] / medians["baseline list via -c"]
            print(f"list / baseline list (same launcher): {ratio:.2f}")
        print(f"  version's imports (ms): {import_costs(['version'])}")
        print(f"  list's imports (ms): {import_costs(listing)}")
        with tempfile.TemporaryDirectory() as folder:
            for size in args.sizes:
                pipeline = write_pipeline(Path(folder), size)
                run = median(
                    flowctl_to_barrier(pipeline, Path(folder) / "logs") for _ in range(args.repeat)
                )
                direct = median(direct_to_registered(size, endpoint) for _ in range(args.repeat))
                print(
                    f"{size:3d} components: flowctl run to barrier {run * 1000:6.0f} ms, "
                    f"started directly {direct * 1000:6.0f} ms, ratio {run / direct:4.2f}"
                )
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
