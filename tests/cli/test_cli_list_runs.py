"""Several `flowctl run`s live on one machine: `flowctl list --runs` shows each, `--run
NAME|PID` picks one, and without it `list` says every time which one it shows."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import trio
from cli_helpers import FlowctlProcess, cli_env, run_flowctl, start_flowctl
from fake_component_command import fake_command

from flowctl.testing import write_pipeline


async def _start_run(
    nursery: trio.Nursery, tmp_path: Path, name: str, components: int, env: dict[str, str]
) -> FlowctlProcess:
    sources = [
        {"id": f"{name}-{number}", "command": fake_command()} for number in range(components)
    ]
    path = write_pipeline(tmp_path / f"{name}.yaml", name=name, sources=sources)
    run = await start_flowctl(
        nursery,
        ["run", str(path), "--control-plane-port", "0", "--log-dir", str(tmp_path / name)],
        cwd=tmp_path,
        env=env,
    )
    await run.wait_for_line(r"registered$|components? registered")
    return run


async def test_runs_and_run_with_two_live_runs(tmp_path: Path, isolated_runtime_dir: Path) -> None:
    env = cli_env(FLOWCTL_RUNTIME_DIR=str(isolated_runtime_dir))
    async with trio.open_nursery() as nursery:
        first = await _start_run(nursery, tmp_path, "alpha", 1, env)
        second = await _start_run(nursery, tmp_path, "beta", 2, env)
        try:
            alpha_endpoint, beta_endpoint = await first.endpoint(), await second.endpoint()

            status, out, err = await run_flowctl(["list", "--runs"], cwd=tmp_path, env=env)
            assert status == 0, err
            header, *rows = out.splitlines()
            assert header.split() == [
                "PIPELINE", "PID", "ENDPOINT", "STARTED", "COMPONENTS", "FILE"
            ]  # fmt: skip
            by_name = {row.split()[0]: row.split() for row in rows}
            assert set(by_name) == {"alpha", "beta"}
            assert by_name["alpha"][1:3] == [str(first.process.pid), alpha_endpoint]
            assert by_name["beta"][1:3] == [str(second.process.pid), beta_endpoint]
            assert by_name["alpha"][4] == "1" and by_name["beta"][4] == "2"

            status, out, err = await run_flowctl(
                ["list", "--runs", "--output", "json"], cwd=tmp_path, env=env
            )
            assert status == 0, err
            runs = {run["pipeline"]: run for run in json.loads(out)["runs"]}
            assert runs["beta"]["pid"] == second.process.pid
            assert runs["beta"]["components"] == 2

            # By name, and by pid: the chosen run's services, and no notice.
            status, out, err = await run_flowctl(
                ["list", "--run", "alpha", "--output", "json"], cwd=tmp_path, env=env
            )
            assert status == 0 and err == "", err
            assert [s["serviceId"] for s in json.loads(out)["services"]] == ["alpha-0"]
            status, out, err = await run_flowctl(
                ["list", "--run", str(second.process.pid)], cwd=tmp_path, env=env
            )
            assert status == 0 and err == "", err
            assert "beta-0" in out and "beta-1" in out and "alpha-0" not in out

            # None chosen: the newest is shown, and stderr says so and how to pick, each time.
            for _ in range(2):
                status, out, err = await run_flowctl(["list"], cwd=tmp_path, env=env)
                assert status == 0, err
                assert "beta-0" in out
                assert "2 runs are live" in err and "beta" in err
                assert str(second.process.pid) in err and "--run" in err

            status, out, err = await run_flowctl(["list", "--run", "gamma"], cwd=tmp_path, env=env)
            assert status == 1
            assert "gamma" in err and "alpha" in err and "beta" in err
            assert "Traceback" not in out + err
        finally:
            for run in (first, second):
                run.send_signal(signal.SIGINT)
            for run in (first, second):
                assert await run.wait() == 0, run.output
            nursery.cancel_scope.cancel()


async def test_one_live_run_needs_no_notice(tmp_path: Path, isolated_runtime_dir: Path) -> None:
    env = cli_env(FLOWCTL_RUNTIME_DIR=str(isolated_runtime_dir))
    async with trio.open_nursery() as nursery:
        only = await _start_run(nursery, tmp_path, "solo", 1, env)
        try:
            status, out, err = await run_flowctl(["list"], cwd=tmp_path, env=env)
            assert status == 0 and err == "", err
            assert "solo-0" in out
        finally:
            only.send_signal(signal.SIGINT)
            assert await only.wait() == 0, only.output
            nursery.cancel_scope.cancel()


async def test_runs_with_none_live_and_conflicting_choices(tmp_path: Path) -> None:
    status, out, err = await run_flowctl(["list", "--runs"], cwd=tmp_path)
    assert status == 0 and out == "" and "no `flowctl run` is live" in err
    status, _, err = await run_flowctl(
        ["list", "--run", "x", "--endpoint", "127.0.0.1:1"], cwd=tmp_path
    )
    assert status == 2 and "--endpoint and --run" in err
    status, _, err = await run_flowctl(["list", "--runs", "--run", "x"], cwd=tmp_path)
    assert status == 2 and "--runs" in err
