"""Matrix 9, 10, 11: output that ends too late, too much of it, or too early."""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

import psutil
import trio
from fake_component_command import FAKE_COMPONENT
from fault_helpers import (
    FlowctlProcess,
    assert_nothing_left,
    new_marker,
    run_args,
    run_tree,
    start_flowctl,
    three_stage,
)

FLOOD_BYTES = 64 * 1024 * 1024
# flowctl idles at about 50 MiB; one that kept the flood in memory would pass this bound.
RSS_BOUND = 100 * 1024 * 1024
FLOOD_LINE = 8192  # as tests/components/fake_component.py writes them


def flood_bytes() -> bytes:
    return b"".join(
        f"{number:08d} ".encode() + b"x" * (FLOOD_LINE - 10) + b"\n"
        for number in range(FLOOD_BYTES // FLOOD_LINE)
    )


async def test_a_grandchild_holding_stdout_after_its_component_exits_does_not_hang(
    tmp_path: Path,
) -> None:
    marker = new_marker()
    # The daemon keeps the component's stdout and stderr open, and cleared its environment:
    # nothing marks it as the run's but being flowctl's adopted orphan.
    path = three_stage(
        tmp_path,
        marker,
        sink=("--daemon", "double-fork-clean-env", "--exit-after", "0.5", "--exit-code", "3"),
    )
    async with trio.open_nursery() as nursery:
        flowctl = await start_flowctl(nursery, run_args(path, tmp_path), cwd=tmp_path)
        await flowctl.wait_for_line("registered as sink")
        tree = run_tree(flowctl, marker)
        ran = "\n".join(" ".join(process.cmdline()) for process in tree)
        assert await flowctl.wait() == 1, flowctl.output
    assert "daemon-double-fork-clean-env" in ran, ran
    errors = "\n".join(flowctl.stderr)
    assert "'sink'" in errors and "status 3" in errors
    assert "exiting with 3" in (tmp_path / "logs" / "sink.log").read_text()
    assert_nothing_left(tree, marker)


async def test_a_flood_on_stdout_reaches_the_log_file_byte_for_byte(tmp_path: Path) -> None:
    marker = new_marker()
    path = three_stage(tmp_path, marker, source=("--flood", str(FLOOD_BYTES)))
    peak_rss = 0
    async with trio.open_nursery() as nursery:
        flowctl = await start_flowctl(nursery, run_args(path, tmp_path), cwd=tmp_path)
        watched = psutil.Process(flowctl.process.pid)

        async def sample_rss() -> None:
            nonlocal peak_rss
            while True:
                try:
                    peak_rss = max(peak_rss, watched.memory_info().rss)
                except psutil.NoSuchProcess:  # flowctl has exited and been reaped
                    return
                await trio.sleep(0.02)

        nursery.start_soon(sample_rss)
        await flowctl.wait_for_line("all 3 components registered", timeout=60)
        tree = run_tree(flowctl, marker)
        # The barrier passes when the server has the registration; src prints its ack a
        # moment later, and that line must be in the log too.
        src_log = tmp_path / "logs" / "src.log"
        with trio.fail_after(30):
            while src_log.stat().st_size < FLOOD_BYTES + len(b"registered as src\n"):
                await trio.sleep(0.02)
        flowctl.send_signal(signal.SIGINT)
        assert await flowctl.wait() == 0, flowctl.output
        nursery.cancel_scope.cancel()
    print(f"flowctl's peak RSS during a {FLOOD_BYTES >> 20} MiB flood: {peak_rss >> 20} MiB")
    assert 0 < peak_rss < RSS_BOUND
    log = (tmp_path / "logs" / "src.log").read_bytes()
    assert log.startswith(flood_bytes())  # then "registered as src"
    assert log[FLOOD_BYTES:] == b"registered as src\n"
    assert_nothing_left(tree, marker)


async def test_a_component_that_closes_its_output_keeps_running(tmp_path: Path) -> None:
    marker = new_marker()
    go = tmp_path / "register-now"
    # proc registers, then closes its output, only once `go` exists: so its pipes can be
    # seen first, and the end of them followed to flowctl.
    path = three_stage(tmp_path, marker, processor=("--register-when", str(go), "--close-output"))
    async with trio.open_nursery() as nursery:
        flowctl = await start_flowctl(nursery, run_args(path, tmp_path), cwd=tmp_path)
        processor = await _component_process(flowctl, marker, "proc")
        pipes = {_pipe_of(processor, 1), _pipe_of(processor, 2)}
        go.touch()
        await flowctl.wait_for_line("all 3 components registered")
        tree = run_tree(flowctl, marker)
        with trio.fail_after(30):  # its output is closed, and flowctl has read the
            while _holders(pipes):  # end-of-file and closed its own end too
                await trio.sleep(0.02)
        # flowctl has seen the end of proc's output: nothing may have come of it.
        assert processor.is_running() and flowctl.process.returncode is None
        flowctl.send_signal(signal.SIGINT)
        assert await flowctl.wait() == 0, flowctl.output
    assert "unexpectedly" not in flowctl.output
    assert "proc stopped" in flowctl.output
    assert (tmp_path / "logs" / "proc.log").read_text() == "registered as proc\n"
    assert_nothing_left(tree, marker)


async def _component_process(
    flowctl: FlowctlProcess, marker: str, component_id: str
) -> psutil.Process:
    """The component's main process, once it has started (hang guard only)."""
    with trio.fail_after(30):
        while True:
            for process in run_tree(flowctl, marker):
                with contextlib.suppress(psutil.Error):
                    ours = process.environ().get("FLOWCTL_COMPONENT_ID") == component_id
                    if ours and process.cmdline()[1:2] == [str(FAKE_COMPONENT)]:
                        return process  # not one of its daemons
            await trio.sleep(0.02)


def _pipe_of(process: psutil.Process, fd: int) -> str:
    target = os.readlink(f"/proc/{process.pid}/fd/{fd}")
    assert target.startswith("pipe:"), target
    return target


def _holders(pipes: set[str]) -> list[int]:
    """The pids that hold either end of any of these pipes."""
    holders = []
    for fd_folder in Path("/proc").glob("[0-9]*/fd"):
        with contextlib.suppress(OSError):
            for fd in os.listdir(fd_folder):
                with contextlib.suppress(OSError):
                    if os.readlink(fd_folder / fd) in pipes:
                        holders.append(int(fd_folder.parent.name))
    return holders
