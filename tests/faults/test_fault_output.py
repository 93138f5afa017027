"""Matrix 9, 10, 11: output that ends too late, too much of it, or too early."""

from __future__ import annotations

import signal
from pathlib import Path

import psutil
import trio
from fault_helpers import (
    assert_nothing_left,
    new_marker,
    run_args,
    run_tree,
    start_flowctl,
    three_stage,
)

FLOOD_BYTES = 32 * 1024 * 1024
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
                peak_rss = max(peak_rss, watched.memory_info().rss)
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
    log = (tmp_path / "logs" / "src.log").read_bytes()
    assert log.startswith(flood_bytes())  # then "registered as src"
    assert log[FLOOD_BYTES:] == b"registered as src\n"
    assert_nothing_left(tree, marker)


async def test_a_component_that_closes_its_output_keeps_running(tmp_path: Path) -> None:
    marker = new_marker()
    path = three_stage(tmp_path, marker, processor=("--close-output",))
    async with trio.open_nursery() as nursery:
        flowctl = await start_flowctl(nursery, run_args(path, tmp_path), cwd=tmp_path)
        await flowctl.wait_for_line("all 3 components registered")
        tree = run_tree(flowctl, marker)
        (processor,) = [p for p in tree if p.environ().get("FLOWCTL_COMPONENT_ID") == "proc"]
        with trio.fail_after(10):  # its output is closed...
            while _has_fd(processor, 1) or _has_fd(processor, 2):
                await trio.sleep(0.02)
        await trio.sleep(0.3)  # ...and end-of-file has reached flowctl: nothing may happen
        assert processor.is_running() and flowctl.process.returncode is None
        flowctl.send_signal(signal.SIGINT)
        assert await flowctl.wait() == 0, flowctl.output
    assert "unexpectedly" not in flowctl.output
    assert "proc stopped" in flowctl.output
    assert (tmp_path / "logs" / "proc.log").read_text() == "registered as proc\n"
    assert_nothing_left(tree, marker)


def _has_fd(process: psutil.Process, fd: int) -> bool:
    return Path(f"/proc/{process.pid}/fd/{fd}").exists()
