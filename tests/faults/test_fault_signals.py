"""Matrix 1, 2, 4: Ctrl+C (running, and before the barrier), SIGTERM, SIGHUP, a second Ctrl+C."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
import trio
from fault_helpers import (
    assert_nothing_left,
    new_marker,
    run_args,
    run_tree,
    start_flowctl,
    three_stage,
)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
async def test_a_stop_signal_while_running_stops_everything_with_status_0(
    tmp_path: Path, signum: signal.Signals
) -> None:
    marker = new_marker()
    path = three_stage(tmp_path, marker, source=("--lines", "3"), sink=("--daemon", "group"))
    async with trio.open_nursery() as nursery:
        flowctl = await start_flowctl(nursery, run_args(path, tmp_path), cwd=tmp_path)
        await flowctl.wait_for_line("all 3 components registered")
        tree = run_tree(flowctl, marker)
        flowctl.send_signal(signum)
        assert await flowctl.wait() == 0, flowctl.output
    assert f"{signum.name} received" in flowctl.output
    assert flowctl.output.splitlines()[-1].endswith("stopped")
    assert "Traceback" not in flowctl.output
    assert_nothing_left(tree, marker)
    assert "src line 3" in (tmp_path / "logs" / "src.log").read_text()


async def test_ctrl_c_before_the_barrier_stops_cleanly(tmp_path: Path) -> None:
    marker = new_marker()
    path = three_stage(tmp_path, marker, sink=("--register", "never", "--lines", "1"))
    async with trio.open_nursery() as nursery:
        flowctl = await start_flowctl(nursery, run_args(path, tmp_path), cwd=tmp_path)
        await flowctl.wait_for_line("sink line 1")  # every component runs; one never registers
        tree = run_tree(flowctl, marker)
        flowctl.send_signal(signal.SIGINT)
        assert await flowctl.wait() == 0, flowctl.output
    assert "components registered" not in flowctl.output
    assert flowctl.output.splitlines()[-1].endswith("stopped")
    assert "Traceback" not in flowctl.output
    assert_nothing_left(tree, marker)


async def test_a_second_ctrl_c_kills_everything_at_once(tmp_path: Path) -> None:
    marker = new_marker()
    # Every component ignores SIGTERM and the grace is far longer than the hang guard: only
    # the second Ctrl+C can end this run in time.
    path = three_stage(
        tmp_path,
        marker,
        source=("--ignore-sigterm",),
        processor=("--ignore-sigterm",),
        sink=("--ignore-sigterm", "--daemon", "setsid"),
    )
    args = run_args(path, tmp_path)
    args[args.index("--shutdown-grace") + 1] = "10m"
    async with trio.open_nursery() as nursery:
        flowctl = await start_flowctl(nursery, args, cwd=tmp_path)
        await flowctl.wait_for_line("all 3 components registered")
        tree = run_tree(flowctl, marker)
        flowctl.send_signal(signal.SIGINT)
        await flowctl.wait_for_line("SIGINT received")
        flowctl.send_signal(signal.SIGINT)
        assert await flowctl.wait(timeout=20) == 0, flowctl.output
    assert "killing every component now" in flowctl.output
    assert "Traceback" not in flowctl.output
    assert_nothing_left(tree, marker)
