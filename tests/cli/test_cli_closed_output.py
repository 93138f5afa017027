"""A reader that goes away (`flowctl list | head -1`, `flowctl version | true`, `flowctl run
| head`): a short command ends quietly with status 0, as `git log | head` does; a run goes
on and says once, on stderr, that its output is no longer shown."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest
import trio
from cli_helpers import FLOWCTL, cli_env, run_flowctl, start_flowctl
from fake_component_command import fake_command

from flowctl.testing import write_pipeline


async def run_into_a_closed_pipe(args: Sequence[str], cwd: Path) -> tuple[int, str]:
    """Run `flowctl ARGS` with stdout a pipe whose reader has already gone."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        with trio.fail_after(60):
            result = await trio.run_process(
                [FLOWCTL, *args],
                cwd=cwd,
                env=cli_env(),
                stdin=subprocess.DEVNULL,
                stdout=write_end,
                capture_stderr=True,
                check=False,
            )
    finally:
        os.close(write_end)
    return result.returncode, result.stderr.decode()


@pytest.mark.parametrize(
    "args", [["version"], ["--version"], ["--help"], ["run", "--help"], ["completion", "bash"]]
)
async def test_a_short_command_ends_quietly_when_stdout_is_closed(
    tmp_path: Path, args: list[str]
) -> None:
    status, err = await run_into_a_closed_pipe(args, tmp_path)
    assert (status, err) == (0, "")


async def test_list_ends_quietly_when_stdout_is_closed(tmp_path: Path) -> None:
    async with trio.open_nursery() as nursery:
        server = await start_flowctl(
            nursery, ["server", "--port", "0", "--no-persistence"], cwd=tmp_path
        )
        endpoint = await server.endpoint()
        for output in ("json", "table"):
            status, err = await run_into_a_closed_pipe(
                ["list", "--endpoint", endpoint, "--output", output], tmp_path
            )
            assert (status, err) == (0, "")
        server.send_signal(signal.SIGTERM)
        assert await server.wait() == 0
        nursery.cancel_scope.cancel()


async def test_list_through_head_in_a_shell(tmp_path: Path) -> None:
    # As a user types it: the reader takes one line and goes.
    async with trio.open_nursery() as nursery:
        server = await start_flowctl(
            nursery, ["server", "--port", "0", "--no-persistence"], cwd=tmp_path
        )
        endpoint = await server.endpoint()
        pipeline = f"'{FLOWCTL}' list --endpoint {endpoint} --output json | head -1"
        with trio.fail_after(60):
            result = await trio.run_process(
                ["bash", "-o", "pipefail", "-c", pipeline],
                cwd=tmp_path,
                env=cli_env(),
                capture_stdout=True,
                capture_stderr=True,
                check=False,
            )
        assert result.returncode == 0
        assert result.stdout.decode().strip() == "{"
        assert result.stderr == b""
        server.send_signal(signal.SIGTERM)
        assert await server.wait() == 0
        nursery.cancel_scope.cancel()


async def test_a_run_whose_reader_goes_away_goes_on_and_says_so_once(tmp_path: Path) -> None:
    path = write_pipeline(tmp_path / "p.yaml", sources=[{"id": "src", "command": fake_command()}])
    logs = tmp_path / "logs"
    # --log-level debug: a line per heartbeat, so flowctl keeps writing after the reader left.
    args = ["run", str(path), "--control-plane-port", "0", "--log-dir", str(logs)]
    process = await trio.lowlevel.open_process(
        [FLOWCTL, *args, "--log-level", "debug"],
        cwd=tmp_path,
        env=cli_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    try:
        with trio.fail_after(60):
            seen = b""
            while b"registered" not in seen:
                seen += await process.stdout.receive_some()
            await process.stdout.aclose()  # the reader goes away, as `| head` does

            err = b""
            while b"no longer shown" not in err:
                err += await process.stderr.receive_some()
            # Still running: its control plane answers `flowctl list`.
            status, out, list_err = await run_flowctl(
                ["list", "--run", str(process.pid)], cwd=tmp_path
            )
            assert status == 0, list_err
            assert "src" in out and "healthy" in out

            process.send_signal(signal.SIGINT)
            async for chunk in process.stderr:
                err += chunk
            assert await process.wait() == 0
    finally:
        if process.returncode is None:
            process.kill()
    text = err.decode()
    assert "Traceback" not in text and "BrokenPipe" not in text
    notice = [line for line in text.splitlines() if "no longer shown" in line]
    assert notice == [
        "flowctl: output is no longer shown (its reader went away); the run goes on, "
        f"each component's output still goes to {logs}/"
    ]
    assert (logs / "src.log").exists()
