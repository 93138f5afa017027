"""restart_policy through the real `flowctl run`: restarts with growing delays until they
run out (then the run fails, naming the restarts), a component that crashes once and runs
again under its id (one service in `flowctl list`), and `always` after an exit 0.

The delays are read from the restart messages, never timed."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import psutil
import trio
from policy_helpers import (
    fake_command,
    matching,
    run_args,
    run_flowctl,
    start_flowctl,
    stated_delays,
    wait_for_lines,
)

from flowctl.durations import parse_duration
from flowctl.testing import write_pipeline


async def test_on_failure_restarts_with_growing_delays_then_fails_naming_them(
    tmp_path: Path,
) -> None:
    path = write_pipeline(
        tmp_path / "p.yaml",
        sources=[{"id": "steady", "command": fake_command()}],
        sinks=[
            {
                "id": "flaky",
                "inputs": ["steady"],
                # Registers, then exits with status 3, every time.
                "command": fake_command("--exit-after", "0", "--exit-code", "3"),
                "restart_policy": "on-failure",
                "max_restarts": 3,
                "restart_delay": "50ms",
            }
        ],
    )
    status, out, err = await run_flowctl(run_args(path, tmp_path), cwd=tmp_path)

    assert status == 1, out + err
    restarts = stated_delays(out, "flaky")
    assert [(attempt, limit) for attempt, limit, _ in restarts] == [(1, 3), (2, 3), (3, 3)]
    delays = [parse_duration(delay) for _, _, delay in restarts]
    assert delays == [0.05, 0.1, 0.2], out  # doubling from restart_delay
    assert len(matching_lines(out, "started flaky")) == 4  # the first start and 3 restarts
    assert "flowctl: error: component 'flaky' exited with status 3" in err
    assert "restarted 3 times (max_restarts 3)" in err
    assert "its last exits: exited with status 3, exited with status 3" in err
    assert "Traceback" not in out + err


def matching_lines(text: str, needle: str) -> list[str]:
    return [line for line in text.splitlines() if needle in line]


async def test_a_component_that_crashes_once_runs_again_under_its_id(tmp_path: Path) -> None:
    crashed = tmp_path / "crashed-once"
    path = write_pipeline(
        tmp_path / "p.yaml",
        sources=[{"id": "src", "command": fake_command()}],
        processors=[
            {
                "id": "proc",
                "inputs": ["src"],
                # Anonymous (attached by process, given the component id), crashes once
                # right after registering, then runs.
                "command": fake_command(
                    "--register",
                    "anonymous",
                    "--type",
                    "processor",
                    "--exit-once",
                    str(crashed),
                    "--exit-after",
                    "0",
                    "--exit-code",
                    "2",
                ),
                "restart_policy": "on-failure",
                "restart_delay": "50ms",
            }
        ],
        sinks=[{"id": "sink", "inputs": ["proc"], "command": fake_command("--type", "sink")}],
    )
    async with trio.open_nursery() as nursery:
        flowctl = await start_flowctl(nursery, run_args(path, tmp_path), cwd=tmp_path)
        endpoint = await flowctl.endpoint()
        await flowctl.wait_for_line(r"proc: restarting \(1/5\) in 50ms")
        # Registered again after the restart: the second registration of proc.
        await wait_for_lines(flowctl, r"registered proc \(by process\)", 2)
        status, listed, err = await run_flowctl(
            ["list", "--endpoint", endpoint, "--output", "json"], cwd=tmp_path
        )
        assert status == 0, err
        status, table, err = await run_flowctl(["list", "--endpoint", endpoint], cwd=tmp_path)
        assert status == 0, err
        assert flowctl.process.returncode is None, flowctl.output  # the run goes on
        flowctl.send_signal(signal.SIGINT)
        assert await flowctl.wait() == 0, flowctl.output
        nursery.cancel_scope.cancel()

    services = [service["serviceId"] for service in json.loads(listed)["services"]]
    assert sorted(services) == ["proc", "sink", "src"], listed  # one for proc, not two
    proc_rows = [line for line in table.splitlines() if line.startswith("proc ")]
    assert len(proc_rows) == 1 and "healthy" in proc_rows[0] and "by process" in proc_rows[0]
    # The barrier is not run again and what depends on proc keeps running: one start each.
    assert len(matching(flowctl, r"started sink ")) == 1
    assert len(matching(flowctl, r"started proc ")) == 2, flowctl.output
    assert len(matching(flowctl, r"all 3 components registered")) == 1
    assert "Traceback" not in flowctl.output


async def test_always_restarts_after_exit_0(tmp_path: Path) -> None:
    path = write_pipeline(
        tmp_path / "p.yaml",
        sources=[
            {
                "id": "tick",
                "command": fake_command("--exit-after", "0"),  # registers, exits 0
                "restart_policy": "always",
                "max_restarts": 2,
                "restart_delay": "50ms",
            }
        ],
    )
    status, out, err = await run_flowctl(run_args(path, tmp_path), cwd=tmp_path)

    assert status == 1, out + err
    assert [(a, n) for a, n, _ in stated_delays(out, "tick")] == [(1, 2), (2, 2)], out
    assert "component 'tick' exited normally" in err
    assert "restarted 2 times (max_restarts 2)" in err
    assert "Traceback" not in out + err


async def test_what_is_left_of_a_crashed_start_is_stopped_without_touching_its_restart(
    tmp_path: Path,
) -> None:
    """The first start leaves a daemon that ignores SIGTERM; its clean-up ends with SIGKILL
    once the grace is over, long after the restart began. It must kill that daemon only:
    both starts carry the same FLOWCTL_RUN_ID, so only their launch ids tell them apart."""
    crashed = tmp_path / "crashed-once"
    path = write_pipeline(
        tmp_path / "p.yaml",
        sources=[
            {
                "id": "src",
                "command": fake_command(
                    "--daemon", "setsid-deaf", "--marker", str(tmp_path),
                    "--exit-once", str(crashed), "--exit-after", "0", "--exit-code", "2",
                ),
                "restart_policy": "on-failure",
                "restart_delay": "50ms",
            }
        ],
    )  # fmt: skip
    async with trio.open_nursery() as nursery:
        flowctl = await start_flowctl(nursery, run_args(path, tmp_path), cwd=tmp_path)
        await wait_for_lines(flowctl, r"registered src", 2)
        first_daemon, second_daemon = sorted(daemons(str(tmp_path)), key=lambda p: p.pid)
        restarted = int(matching(flowctl, r"started src \(pid (\d+)\)")[1].group(1))
        with trio.fail_after(60):  # hang guard: the first start's clean-up ends in SIGKILL
            while first_daemon.is_running() and first_daemon.status() != "zombie":
                await trio.sleep(0.05)
        assert psutil.Process(restarted).status() != "zombie", flowctl.output
        assert second_daemon.is_running() and second_daemon.status() != "zombie"
        assert len(matching(flowctl, r"started src ")) == 2, flowctl.output
        flowctl.send_signal(signal.SIGINT)
        assert await flowctl.wait() == 0, flowctl.output
    assert not any(daemon.is_running() for daemon in daemons(str(tmp_path)))


def daemons(marker: str) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        cmdline = process.info["cmdline"] or []
        if "daemon-setsid-deaf" in cmdline and marker in cmdline:
            found.append(process)
    return found
