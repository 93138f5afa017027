"""Matrix 5, 6: wrappers (npm start, sh -c, a script with background jobs) and descendants
that leave the process group (setsid, double-forked daemons): the whole tree goes."""

from __future__ import annotations

import json
import shlex
import shutil
import signal
from pathlib import Path

import pytest
import trio
from fault_helpers import (
    MARKER_VARIABLE,
    assert_nothing_left,
    component,
    fake_command,
    new_marker,
    run_args,
    run_tree,
    start_flowctl,
    write_pipeline,
)


async def run_and_ctrl_c(tmp_path: Path, path: Path, marker: str, components: int) -> str:
    """Run until registered, Ctrl+C, check that nothing is left; the command lines that ran."""
    async with trio.open_nursery() as nursery:
        flowctl = await start_flowctl(nursery, run_args(path, tmp_path), cwd=tmp_path)
        await flowctl.wait_for_line(f"all {components} components? registered")
        tree = run_tree(flowctl, marker)
        command_lines = "\n".join(" ".join(process.cmdline()) for process in tree)
        flowctl.send_signal(signal.SIGINT)
        assert await flowctl.wait() == 0, flowctl.output
    assert "Traceback" not in flowctl.output
    assert_nothing_left(tree, marker)
    return command_lines


def wrapped(component_id: str, marker: str, command: list[str], **extra: object) -> dict:
    return {"id": component_id, "command": command, "env": {MARKER_VARIABLE: marker}, **extra}


async def test_shell_wrappers_and_their_background_jobs_go(tmp_path: Path) -> None:
    marker = new_marker()
    fake = shlex.join(fake_command("--marker", marker))
    script = tmp_path / "start.sh"
    script.write_text(f"#!/bin/sh\nsleep 3600 &\nsleep 3601 &\n{fake}\n")  # no exec: sh waits
    script.chmod(0o755)
    path = write_pipeline(
        tmp_path / "pipeline.yaml",
        sources=[wrapped("by-sh-c", marker, ["sh", "-c", f"sleep 3602 & {fake}"])],
        sinks=[wrapped("by-script", marker, [str(script)], inputs=["by-sh-c"])],
    )
    ran = await run_and_ctrl_c(tmp_path, path, marker, 2)
    assert all(f"sleep {seconds}" in ran for seconds in (3600, 3601, 3602)), ran


@pytest.mark.skipif(shutil.which("npm") is None, reason="npm is not installed")
async def test_npm_start_and_what_it_starts_go(tmp_path: Path) -> None:
    marker = new_marker()
    app = tmp_path / "app"
    app.mkdir()
    start = f"sleep 3603 & {shlex.join(fake_command('--marker', marker))}"
    (app / "package.json").write_text(
        json.dumps({"name": "app", "version": "1.0.0", "scripts": {"start": start}})
    )
    path = write_pipeline(
        tmp_path / "pipeline.yaml",
        sources=[wrapped("npm-app", marker, ["npm", "start"], working_dir="app")],
    )
    ran = await run_and_ctrl_c(tmp_path, path, marker, 1)
    assert "npm" in ran and "sleep 3603" in ran, ran


@pytest.mark.parametrize("mode", ["setsid", "double-fork", "double-fork-clean-env"])
async def test_descendants_that_left_the_group_go(tmp_path: Path, mode: str) -> None:
    marker = new_marker()
    path = write_pipeline(
        tmp_path / "pipeline.yaml",
        sources=[component("src", marker, "--daemon", mode)],
    )
    ran = await run_and_ctrl_c(tmp_path, path, marker, 1)
    assert f"daemon-{mode}" in ran, ran
