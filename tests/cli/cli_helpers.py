"""Driving the real `flowctl` executable as a user would: a subprocess, its output, signals."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import psutil
import trio

FLOWCTL = str(Path(sys.executable).parent / "flowctl")
ENDPOINT_LINE = re.compile(r"control plane listening on (\S+:\d+)")


def cli_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    # A terminal's size comes from the terminal, not from what the test runner was told
    # (pytest-xdist's workers have COLUMNS=80, which rich would believe over a wider pty).
    env.pop("COLUMNS", None)
    env.pop("LINES", None)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


class FlowctlProcess:
    """A running `flowctl ...` whose stdout and stderr are collected line by line."""

    def __init__(self, process: trio.Process) -> None:
        self.process = process
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._changed = trio.Event()
        self._eof = False

    @property
    def output(self) -> str:
        return "\n".join(self.stdout + self.stderr)

    async def _pump(self, stream: trio.abc.ReceiveStream, lines: list[str]) -> None:
        buffer = b""
        async for chunk in stream:
            buffer += chunk
            *complete, buffer = buffer.split(b"\n")
            lines.extend(part.decode(errors="replace") for part in complete)
            self._changed.set()
            self._changed = trio.Event()
        if buffer:
            lines.append(buffer.decode(errors="replace"))
        self._changed.set()

    async def wait_for_line(self, pattern: str, timeout: float = 30) -> re.Match[str]:
        regex = re.compile(pattern)
        with trio.fail_after(timeout):
            while True:
                for line in self.stdout + self.stderr:
                    found = regex.search(line)
                    if found:
                        return found
                if self.process.returncode is not None and self._eof:
                    raise AssertionError(
                        f"flowctl exited without printing {pattern!r}:\n" + self.output
                    )
                await self._changed.wait()

    async def endpoint(self) -> str:
        return (await self.wait_for_line(ENDPOINT_LINE.pattern)).group(1)

    def send_signal(self, signum: int = signal.SIGINT) -> None:
        self.process.send_signal(signum)

    async def wait(self, timeout: float = 30) -> int:
        with trio.fail_after(timeout):
            return await self.process.wait()

    def descendants(self) -> list[psutil.Process]:
        try:
            return psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []


async def start_flowctl(
    nursery: trio.Nursery,
    args: Sequence[str],
    *,
    cwd: Path,
    env: dict[str, str] | None = None,
    launcher: Sequence[str] = (),
) -> FlowctlProcess:
    """`launcher`: a command line that runs flowctl as its child (its args are flowctl's)."""
    process = await trio.lowlevel.open_process(
        [*launcher, FLOWCTL, *args],
        cwd=cwd,
        env=env or cli_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    running = FlowctlProcess(process)

    async def pump_all() -> None:
        try:
            async with trio.open_nursery() as inner:
                inner.start_soon(running._pump, process.stdout, running.stdout)
                inner.start_soon(running._pump, process.stderr, running.stderr)
        finally:
            # Cancelled while flowctl still runs: the test failed (or gave up on it). Its
            # run must not outlive the test.
            kill_tree(process)
        running._eof = True
        running._changed.set()

    nursery.start_soon(pump_all)
    return running


def kill_tree(process: trio.Process) -> None:
    """SIGKILL a process that is still running and everything under it: flowctl (or its
    launcher), its watchdog and its components, daemons it adopted included."""
    if process.poll() is not None:
        return
    try:
        tree = [psutil.Process(process.pid), *psutil.Process(process.pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        tree = []
    for member in tree:
        with contextlib.suppress(psutil.Error):
            member.kill()
    with contextlib.suppress(ProcessLookupError):
        process.kill()


async def run_flowctl(
    args: Sequence[str],
    *,
    cwd: Path,
    env: dict[str, str] | None = None,
    timeout: float = 60,
    launcher: Sequence[str] = (),
) -> tuple[int, str, str]:
    """Run `flowctl ARGS` to the end: (status, stdout, stderr). `launcher`: as in
    start_flowctl."""
    with trio.fail_after(timeout):
        result = await trio.run_process(
            [*launcher, FLOWCTL, *args],
            cwd=cwd,
            env=env or cli_env(),
            capture_stdout=True,
            capture_stderr=True,
            check=False,
            stdin=b"",
        )
    return result.returncode, result.stdout.decode(), result.stderr.decode()


def assert_all_gone(processes: Sequence[psutil.Process]) -> None:
    """Every process is gone (a zombie still waiting for its parent counts as gone)."""
    left = []
    for process in processes:
        try:
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                left.append(f"{process.pid} {process.cmdline()}")
        except psutil.NoSuchProcess:
            continue
    assert not left, "processes left behind:\n" + "\n".join(left)
