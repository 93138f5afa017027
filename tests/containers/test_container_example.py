"""examples/container-pipeline.yaml through the real CLI: a process source and a container
processor and sink register under one barrier, `flowctl list` shows them, and neither
Ctrl+C nor a SIGKILL of flowctl leaves a container (running or stopped) or a process."""

from __future__ import annotations

import json
import re
import signal
from pathlib import Path

import psutil
import trio
from container_helpers import (
    FlowctlProcess,
    cli_env,
    run_args,
    run_flowctl,
    screen_lines,
    start_flowctl,
    start_in_pty,
)

from flowctl.orchestrator import container_sweep
from flowctl.orchestrator.engine_client import engine_address

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "container-pipeline.yaml"
CONTAINERS = ("ttp-processor", "consumer-app")
GUARD = 120  # a hang guard only: three components, two of them containers, on a busy machine


def run_of(flowctl: FlowctlProcess) -> str:
    """The run's id, from the environment flowctl gave its process source."""
    for process in psutil.Process(flowctl.process.pid).children(recursive=True):
        try:
            mark = process.environ().get("FLOWCTL_RUN_ID", "")
        except psutil.Error:
            continue
        if mark:
            return mark.split("/")[0]
    raise AssertionError("no process of the run carries FLOWCTL_RUN_ID")


def containers_of_run(run_id: str) -> list[str]:
    return container_sweep.run_containers(engine_address().url, run_id)


async def test_the_container_example_runs_lists_and_stops_clean(tmp_path: Path) -> None:
    async with trio.open_nursery() as nursery:
        flowctl = await start_flowctl(nursery, run_args(EXAMPLE, tmp_path), cwd=tmp_path)
        await flowctl.wait_for_line("all 3 components registered", timeout=GUARD)
        endpoint = await flowctl.endpoint()
        run_id = run_of(flowctl)
        assert len(containers_of_run(run_id)) == 2
        for name in CONTAINERS:  # the live log says which container each one is
            await flowctl.wait_for_line(rf"started {name} \(container [0-9a-f]{{12}}\)")
        tree = psutil.Process(flowctl.process.pid).children(recursive=True)

        status, out, err = await run_flowctl(
            ["list", "--endpoint", endpoint, "--output", "json"], cwd=tmp_path
        )
        assert status == 0, err
        listed = {service["serviceId"] for service in json.loads(out)["services"]}
        assert listed == {"stellar-live-source-datalake", *CONTAINERS}
        status, out, err = await run_flowctl(["list", "--endpoint", endpoint], cwd=tmp_path)
        assert status == 0, err
        for name in CONTAINERS:
            assert name in out

        flowctl.send_signal(signal.SIGINT)
        assert await flowctl.wait(timeout=GUARD) == 0
    assert "stopped" in flowctl.output.splitlines()[-1]
    assert containers_of_run(run_id) == []
    assert not [p for p in tree if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    # The containers' output is in their log files, as a process's is.
    assert "processed ledger" in (tmp_path / "logs" / "ttp-processor.log").read_text()
    assert "received" in (tmp_path / "logs" / "consumer-app.log").read_text()


async def test_flowctl_killed_leaves_no_container_after_the_watchdogs_pass(
    tmp_path: Path,
) -> None:
    async with trio.open_nursery() as nursery:
        flowctl = await start_flowctl(
            nursery, run_args(EXAMPLE, tmp_path), cwd=tmp_path, env=cli_env()
        )
        await flowctl.wait_for_line("all 3 components registered", timeout=GUARD)
        run_id = run_of(flowctl)
        tree = psutil.Process(flowctl.process.pid).children(recursive=True)
        assert len(containers_of_run(run_id)) == 2
        flowctl.send_signal(signal.SIGKILL)
        await flowctl.wait(timeout=GUARD)
        # The watchdog outlives flowctl: it kills the run's processes, then removes its
        # containers by label. Wait for it to finish (it exits when done).
        (watchdog,) = [p for p in tree if "flowctl.orchestrator.watchdog" in " ".join(_cmd(p))]
        with trio.fail_after(GUARD):
            while watchdog.is_running() and watchdog.status() != psutil.STATUS_ZOMBIE:
                await trio.sleep(0.05)
    assert containers_of_run(run_id) == []
    assert not [p for p in tree if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert "removed the 2 containers of its run" in flowctl.output


async def test_the_live_view_shows_a_containers_short_id_where_a_pid_is(tmp_path: Path) -> None:
    terminal = await start_in_pty(run_args(EXAMPLE, tmp_path), cwd=tmp_path, env=cli_env())
    row = re.compile(r"^\s*(\S+)\s+\S+\s+healthy\s+(\S+)\s")

    def rows(lines: list[str]) -> dict[str, str]:
        """{component: what its PID column shows} for the healthy rows of the table."""
        return {m.group(1): m.group(2) for line in lines if (m := row.match(line))}

    try:
        await terminal.read_until(lambda lines: len(rows(lines)) == 3, timeout=GUARD)
        shown = rows(screen_lines(terminal.raw))
        terminal.process.send_signal(signal.SIGINT)
        await terminal.read_to_end(timeout=GUARD)
        with trio.fail_after(GUARD):
            assert await terminal.process.wait() == 0, terminal.raw
    finally:
        if terminal.process.returncode is None:
            terminal.process.kill()
        await terminal.aclose()
    assert shown["stellar-live-source-datalake"].isdigit(), shown  # a process: its pid
    for name in CONTAINERS:
        assert re.fullmatch(r"[0-9a-f]{12}", shown[name]), shown


def _cmd(process: psutil.Process) -> list[str]:
    try:
        return process.cmdline()
    except psutil.Error:
        return []
