"""README "What the terminal shows": `flowctl list` with no --endpoint finds the newest
running `flowctl run` by itself (stale announcements are cleaned away), and falls back to
localhost:8080. Each test has its own FLOWCTL_RUNTIME_DIR (tests/conftest.py)."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import trio
from promise_helpers import fake_command, run_args, run_flowctl, start_flowctl

from flowctl.testing import write_pipeline


def one_source(tmp_path: Path, component_id: str) -> Path:
    folder = tmp_path / component_id
    folder.mkdir()
    return write_pipeline(
        folder / "p.yaml", sources=[{"id": component_id, "command": fake_command()}]
    )


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


async def test_list_finds_the_newest_live_run_and_drops_stale_ones(
    tmp_path: Path, isolated_runtime_dir: Path
) -> None:
    async with trio.open_nursery() as nursery:
        older = await start_flowctl(
            nursery, run_args(one_source(tmp_path, "older"), tmp_path / "older"), cwd=tmp_path
        )
        await older.wait_for_line(r"all 1 components? registered")
        newer = await start_flowctl(
            nursery, run_args(one_source(tmp_path, "newer"), tmp_path / "newer"), cwd=tmp_path
        )
        await newer.wait_for_line(r"all 1 components? registered")
        # A run that died without cleaning up, announced as the newest of all.
        runs = isolated_runtime_dir / "runs"
        record = json.loads((runs / f"{newer.process.pid}.json").read_text())
        stale = runs / f"{dead_pid()}.json"
        dead = {"pid": int(stale.stem), "started_at": time.time(), "endpoint": "127.0.0.1:1"}
        stale.write_text(json.dumps({**record, **dead}))

        status, out, err = await run_flowctl(["list"], cwd=tmp_path)
        stale_left = stale.exists()
        for flowctl in (newer, older):
            flowctl.send_signal(signal.SIGINT)
            assert await flowctl.wait() == 0, flowctl.output
    assert status == 0, err
    listed = [line.split()[0] for line in out.strip().splitlines()[1:]]
    assert listed == ["newer"], out
    assert not stale_left, "a stale announcement must be removed"
    assert list((isolated_runtime_dir / "runs").glob("*.json")) == []  # both runs left


async def test_list_without_any_run_falls_back_to_localhost_8080(tmp_path: Path) -> None:
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", 8080)) == 0:
            pytest.skip("something listens on localhost:8080 here")
    status, out, err = await run_flowctl(["list"], cwd=tmp_path)
    assert status == 1
    assert "localhost:8080" in err
    assert "Traceback" not in out + err
