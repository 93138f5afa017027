"""A reader that stops reading flowctl's stdout (a pipe nobody reads, a terminal whose
output is paused) while a component floods: the control plane keeps answering, Ctrl+C still
stops the run, the log file still gets every byte, and flowctl's memory stays bounded."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import psutil
import trio
from cli_helpers import FLOWCTL, cli_env, run_flowctl
from cli_pty import start_in_pty
from fake_component_command import fake_command

from flowctl.console.stdout_buffer import BACKLOG_LIMIT
from flowctl.discovery import live_runs
from flowctl.testing import write_pipeline

# Writes until SIGTERM, then finishes the line it is writing and says how many it wrote:
# so the log can be compared with exactly what was written. Lines under PIPE_BUF.
FLOODER = """
import os, signal
stopping = False
def stop(*_):
    global stopping
    stopping = True
signal.signal(signal.SIGTERM, stop)
def write(data):
    view = memoryview(data)
    while view:
        view = view[os.write(1, view):]
number = 0
while not stopping:
    write(b"".join(b"%08d " % n + b"x" * 3990 + b"\\n" for n in range(number, number + 16)))
    number += 16
write(b"flooded %d lines\\n" % number)
"""
FLOODED = re.compile(rb"flooded (\d+) lines\n$")
HANG_GUARD = 60  # seconds; never a timing assertion, only a bound on a hang
# flowctl idles at about 50 MiB and holds at most BACKLOG_LIMIT for its reader; one that
# kept reading into memory while the flood goes on would pass this bound.
RSS_BOUND = 100 * 1024 * 1024


def flood_lines(count: int) -> bytes:
    return b"".join(b"%08d " % n + b"x" * 3990 + b"\n" for n in range(count))


def pipeline(tmp_path: Path) -> Path:
    flooder = tmp_path / "flooder.py"
    flooder.write_text(FLOODER)
    return write_pipeline(
        tmp_path / "stall.yaml",
        # Two sources: `beat` must not wait for the flooder, which never registers.
        sources=[
            {"id": "flood", "command": [sys.executable, str(flooder)]},
            {"id": "beat", "command": fake_command()},
        ],
    )


def run_args(path: Path, tmp_path: Path) -> list[str]:
    # The flooder never registers: the run stays before its barrier, which is plenty.
    return [
        *("run", str(path), "--control-plane-port", "0", "--log-dir", str(tmp_path / "logs")),
        *("--registration-timeout", "5m", "--heartbeat-interval", "200ms"),
    ]


async def exercise_stalled_run(
    tmp_path: Path, process: trio.Process, wait_exit: Callable[[], Awaitable[int]]
) -> None:
    """The checks of both variants, once flowctl runs with a reader that never reads."""
    log = tmp_path / "logs" / "flood.log"
    watched = psutil.Process(process.pid)
    peak_rss = 0

    async def sample_rss() -> None:
        nonlocal peak_rss
        while True:
            try:
                peak_rss = max(peak_rss, watched.memory_info().rss)
            except psutil.NoSuchProcess:  # flowctl has exited and been reaped
                return
            await trio.sleep(0.02)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(sample_rss)
        with trio.fail_after(HANG_GUARD):
            # Far more than a pipe or a terminal holds (64 KiB) went into the log: the reader
            # has stalled and flowctl is holding the rest for it. Not BACKLOG_LIMIT: the
            # limit counts the screen copy, which a terminal's colours make longer.
            while not log.exists() or log.stat().st_size < BACKLOG_LIMIT // 4:
                await trio.sleep(0.02)
            while not (runs := [run for run in live_runs() if run.pid == process.pid]):
                await trio.sleep(0.02)
            beat_log = tmp_path / "logs" / "beat.log"  # it prints this once registered
            while not beat_log.exists() or "registered as beat" not in beat_log.read_text():
                await trio.sleep(0.02)
            status, listed, errors = await run_flowctl(
                ["list", "--endpoint", runs[0].endpoint], cwd=tmp_path, timeout=HANG_GUARD
            )
            assert status == 0, errors
            assert re.search(r"^beat\s+\S+\s+healthy", listed, re.M), listed
            stalled_at, stalled_rss = log.stat().st_size, watched.memory_info().rss
            process.send_signal(signal.SIGINT)
            assert await wait_exit() == 0
        nursery.cancel_scope.cancel()

    written = log.read_bytes()
    flooded = FLOODED.search(written)
    assert flooded, written[-200:]
    assert written == flood_lines(int(flooded.group(1))) + flooded.group(0)
    print(
        f"flowctl's RSS {stalled_rss >> 20} MiB when stalled with {stalled_at >> 20} MiB "
        f"flooded, peak {peak_rss >> 20} MiB with {len(written) >> 20} MiB in the end"
    )
    assert 0 < max(stalled_rss, peak_rss) < RSS_BOUND


async def test_a_pipe_nobody_reads_does_not_stall_the_run(tmp_path: Path) -> None:
    process = await trio.lowlevel.open_process(
        [FLOWCTL, *run_args(pipeline(tmp_path), tmp_path)],
        cwd=tmp_path,
        env=cli_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,  # never read
        stderr=subprocess.PIPE,
    )
    try:
        await exercise_stalled_run(tmp_path, process, process.wait)
        assert process.stderr is not None
        errors = b""
        with trio.fail_after(HANG_GUARD):  # all of it, to its end: not one chunk
            while chunk := await process.stderr.receive_some():
                errors += chunk
        assert b"Traceback" not in errors, errors.decode(errors="replace")
    finally:
        _kill(process)


async def test_a_terminal_nobody_reads_does_not_stall_the_run(tmp_path: Path) -> None:
    env = cli_env(TERM="xterm-256color")
    env.pop("NO_COLOR", None)
    terminal = await start_in_pty(run_args(pipeline(tmp_path), tmp_path), cwd=tmp_path, env=env)
    try:  # the terminal is never read: its buffer fills and writes block
        await exercise_stalled_run(tmp_path, terminal.process, terminal.process.wait)
    finally:
        _kill(terminal.process)
        await terminal.aclose()


def _kill(process: trio.Process) -> None:
    """If a check failed with flowctl stuck: its watchdog takes the components with it."""
    if process.returncode is None:
        os.kill(process.pid, signal.SIGKILL)


async def test_a_server_whose_output_nobody_reads_keeps_serving(tmp_path: Path) -> None:
    import trio_asyncio
    from grpclib.client import Channel

    from flowctl._proto import flowctl as pb

    process = await trio.lowlevel.open_process(
        [FLOWCTL, "server", "--port", "0", "--no-persistence"],
        cwd=tmp_path,
        env=cli_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,  # read up to the endpoint, then never again
        stderr=subprocess.DEVNULL,
    )
    try:
        with trio.fail_after(HANG_GUARD):
            assert process.stdout is not None
            seen = b""
            while not (found := re.search(rb"listening on (\S+):(\d+)", seen)):
                seen += await process.stdout.receive_some(4096)
            host, port = found.group(1).decode(), int(found.group(2))

            async def register_many() -> None:
                # One log line each: far more than a pipe holds (64 KiB here).
                channel = Channel(host, port)
                try:
                    stub = pb.ControlPlaneStub(channel)
                    for _ in range(2000):
                        await stub.register(pb.ServiceInfo(service_type=pb.ServiceType.SINK))
                finally:
                    channel.close()

            async with trio_asyncio.open_loop():
                await trio_asyncio.aio_as_trio(register_many)()
            status, listed, errors = await run_flowctl(
                ["list", "--endpoint", f"{host}:{port}", "--output", "json"],
                cwd=tmp_path,
                timeout=HANG_GUARD,
            )
            assert status == 0, errors
            assert listed.count("serviceId") == 2000
            process.send_signal(signal.SIGTERM)
            assert await process.wait() == 0
    finally:
        _kill(process)
