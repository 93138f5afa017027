#!/usr/bin/env python3
"""What the terminal output costs `flowctl run`: the live status view against plain lines.

    .venv/bin/python scripts/bench/console_cost.py [--lines 50000] [--repeat 3] [--idle 10]

Figures (medians of --repeat runs), for each way of showing the output:
- flood: a component prints --lines lines as fast as it can; lines per second through
  flowctl (start-up measured with 0 lines and subtracted) and flowctl's own CPU seconds;
- idle: flowctl's own CPU seconds over --idle seconds of the example pipeline running.
Modes: `pipe` (plain text to a pipe, the baseline), `json` (to a pipe), `tty-lines`
(coloured, --no-status, in a pseudo-terminal) and `tty-live` (the live view). Ratios are
against `pipe`. Run by hand; the suite never asserts timings.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import select
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
FLOWCTL = str(BIN / "flowctl")
FAKE = [sys.executable, str(ROOT / "tests" / "components" / "fake_component.py")]
EXAMPLE = ROOT / "examples" / "ttp-pipeline.yaml"
MODES = {
    "pipe": [],
    "json": ["--log-format", "json"],
    "tty-lines": ["--no-status"],
    "tty-live": [],
}


def start(mode: str, pipeline: Path, folder: Path) -> tuple[subprocess.Popen[bytes], int]:
    """flowctl with its output on a pipe or a 160x40 pty; returns it and the fd to read."""
    args = [FLOWCTL, "run", str(pipeline), "--control-plane-port", "0", *MODES[mode]]
    args += ["--log-dir", str(folder / "logs")]
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}", TERM="xterm-256color")
    env.pop("NO_COLOR", None)
    if mode.startswith("tty"):
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))
        process = subprocess.Popen(args, cwd=folder, env=env, stdout=slave, stderr=slave)
        os.close(slave)
        return process, master
    process = subprocess.Popen(
        args, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    assert process.stdout is not None
    return process, process.stdout.fileno()


def read_until(fd: int, marker: bytes, deadline: float) -> None:
    seen = b""
    while marker not in seen:
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {marker!r} in time")
        ready, _, _ = select.select([fd], [], [], 1.0)
        if ready:
            try:
                chunk = os.read(fd, 1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                raise RuntimeError("flowctl ended early:\n" + seen[-2000:].decode(errors="replace"))
            seen = seen[-len(marker) :] + chunk if len(seen) > 1 << 20 else seen + chunk


def finish(process: subprocess.Popen[bytes], fd: int) -> None:
    process.send_signal(signal.SIGINT)
    deadline = time.monotonic() + 30
    while process.poll() is None and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                if not os.read(fd, 1 << 16):
                    break
            except OSError:
                break
    process.wait(timeout=30)
    if process.stdout is None:  # a pty: the master is ours to close
        os.close(fd)


def cpu_seconds(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def flood_once(mode: str, lines: int, folder: Path) -> tuple[float, float]:
    """Seconds until the component's line after the flood is through, and flowctl's CPU."""
    pipeline = folder / f"flood-{lines}.yaml"
    command = ", ".join(f'"{part}"' for part in [*FAKE, "--lines", str(lines)])
    pipeline.write_text(
        "apiVersion: v1\nkind: Pipeline\nmetadata: {name: flood}\nspec:\n  sources:\n"
        f"    - id: src\n      command: [{command}]\n"
    )
    began = time.monotonic()
    process, fd = start(mode, pipeline, folder)
    try:
        read_until(fd, b"registered as src", began + 300)
        elapsed, cpu = time.monotonic() - began, cpu_seconds(process.pid)
    finally:
        finish(process, fd)
    return elapsed, cpu


def idle_once(mode: str, seconds: float, folder: Path) -> float:
    began = time.monotonic()
    process, fd = start(mode, EXAMPLE, folder)
    try:
        read_until(fd, b"all 3 components registered", began + 60)
        before = cpu_seconds(process.pid)
        end = time.monotonic() + seconds
        while time.monotonic() < end:  # keep reading, as a terminal would
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                os.read(fd, 1 << 16)
        return cpu_seconds(process.pid) - before
    finally:
        finish(process, fd)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--idle", type=float, default=10.0, help="seconds; 0 skips it")
    args = parser.parse_args()
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        for mode in MODES:
            empty = statistics.median(flood_once(mode, 0, folder)[0] for _ in range(args.repeat))
            runs = [flood_once(mode, args.lines, folder) for _ in range(args.repeat)]
            flood_time = statistics.median(t for t, _ in runs) - empty
            results[mode] = {
                "lines/s": args.lines / max(flood_time, 1e-9),
                "flood cpu s": statistics.median(c for _, c in runs),
            }
            if args.idle > 0:
                results[mode]["idle cpu s"] = statistics.median(
                    idle_once(mode, args.idle, folder) for _ in range(args.repeat)
                )
            print(
                f"{mode:10} " + "  ".join(f"{k} {v:,.2f}" for k, v in results[mode].items()),
                flush=True,
            )
    base = results["pipe"]
    print(f"\nagainst pipe (flood of {args.lines} lines, idle {args.idle:g}s):")
    for mode, figures in results.items():
        ratios = "  ".join(
            f"{key} x{value / base[key]:.2f}" for key, value in figures.items() if base[key]
        )
        print(f"{mode:10} {ratios}")


if __name__ == "__main__":
    main()
