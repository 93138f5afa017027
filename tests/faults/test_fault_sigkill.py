"""Matrix 7: flowctl itself killed with SIGKILL. Its watchdog stops every component and
every descendant, including those that left their process group."""

from __future__ import annotations

import signal
import sys
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

REAPING_INIT = [sys.executable, str(Path(__file__).with_name("reaping_init.py"))]


async def test_flowctl_killed_with_sigkill_leaves_nothing(tmp_path: Path) -> None:
    marker = new_marker()
    path = three_stage(
        tmp_path,
        marker,
        source=("--daemon", "setsid", "--lines", "2"),
        processor=("--daemon", "double-fork"),
        sink=("--daemon", "group", "--ignore-sigterm"),  # needs the watchdog's SIGKILL
    )
    async with trio.open_nursery() as nursery:
        init = await start_flowctl(
            nursery, run_args(path, tmp_path), cwd=tmp_path, launcher=REAPING_INIT
        )
        await init.wait_for_line("all 3 components registered")
        tree = run_tree(init, marker)
        (flowctl,) = psutil.Process(init.process.pid).children()
        assert len(tree) >= 7  # flowctl, its watchdog, 3 components and their 3 daemons
        flowctl.send_signal(signal.SIGKILL)
        started = trio.current_time()
        # reaping_init exits once nothing is left below it: the run is gone and reaped.
        assert await init.wait(timeout=20) == 128 + signal.SIGKILL
        elapsed = trio.current_time() - started
    print(f"everything gone {elapsed:.2f}s after flowctl's SIGKILL")
    assert f"flowctl (pid {flowctl.pid}) is gone" in init.output
    assert_nothing_left(tree, marker)
    assert "src line 2" in (tmp_path / "logs" / "src.log").read_text()
