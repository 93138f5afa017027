"""README "flowctl run options": --control-plane-address, --no-status and --no-color, as a
user sees them (the last two in a real terminal)."""

from __future__ import annotations

import re
import signal
import socket
from pathlib import Path

import pytest
import trio
from promise_helpers import (
    cli_env,
    fake_command,
    run_args,
    run_flowctl,
    screen_lines,
    start_flowctl,
    start_in_pty,
)

from flowctl.testing import write_pipeline

TABLE_HEADER = re.compile(r"^\s*ID\s+TYPE\s+STATE\s+PID\s+UPTIME")
ESCAPE = "\x1b["
OTHER_LOOPBACK = "127.0.0.2"  # all of 127.0.0.0/8 is loopback on Linux


def two_components(tmp_path: Path) -> Path:
    return write_pipeline(
        tmp_path / "p.yaml",
        sources=[{"id": "src", "command": fake_command("--lines", "2")}],
        sinks=[{"id": "sink", "inputs": ["src"], "command": fake_command("--type", "sink")}],
    )


def can_bind(address: str) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((address, 0))
        except OSError:
            return False
    return True


@pytest.mark.skipif(not can_bind(OTHER_LOOPBACK), reason=f"{OTHER_LOOPBACK} is not local here")
async def test_control_plane_address_is_where_it_listens_and_components_connect(
    tmp_path: Path,
) -> None:
    args = run_args(two_components(tmp_path), tmp_path, "--control-plane-address", OTHER_LOOPBACK)
    async with trio.open_nursery() as nursery:
        flowctl = await start_flowctl(nursery, args, cwd=tmp_path)
        endpoint = await flowctl.endpoint()
        await flowctl.wait_for_line(r"all 2 components registered")
        status, listed, err = await run_flowctl(["list", "--endpoint", endpoint], cwd=tmp_path)
        port = int(endpoint.rpartition(":")[2])
        with socket.socket() as elsewhere:  # bound to that address only
            refused = elsewhere.connect_ex(("127.0.0.1", port)) != 0
        flowctl.send_signal(signal.SIGINT)
        assert await flowctl.wait() == 0, flowctl.output
    assert endpoint.startswith(f"{OTHER_LOOPBACK}:")
    assert status == 0, err
    assert {line.split()[0] for line in listed.strip().splitlines()[1:]} == {"src", "sink"}
    assert refused


async def run_in_terminal(tmp_path: Path, *options: str) -> str:
    """`flowctl run` in a colour terminal until both registered, then Ctrl+C: the screen."""
    env = cli_env(TERM="xterm-256color")
    env.pop("NO_COLOR", None)
    args = run_args(two_components(tmp_path), tmp_path, *options)
    terminal = await start_in_pty(args, cwd=tmp_path, env=env)
    try:
        await terminal.read_until(
            lambda lines: any("all 2 components registered" in line for line in lines)
        )
        terminal.process.send_signal(signal.SIGINT)
        await terminal.read_to_end()
        with trio.fail_after(30):
            assert await terminal.process.wait() == 0, terminal.raw
    finally:
        if terminal.process.returncode is None:
            terminal.process.kill()
        await terminal.aclose()
    return terminal.raw


async def test_no_status_leaves_out_the_table_but_keeps_the_colours(tmp_path: Path) -> None:
    raw = await run_in_terminal(tmp_path, "--no-status")
    lines = screen_lines(raw)
    assert not any(TABLE_HEADER.match(line) for line in lines), raw
    assert any(line.endswith("src line 2") for line in lines), raw
    assert ESCAPE in raw  # colour is still on


async def test_no_color_and_no_status_leave_plain_text(tmp_path: Path) -> None:
    raw = await run_in_terminal(tmp_path, "--no-status", "--no-color")
    assert ESCAPE not in raw, raw
    assert "\x1b" not in raw, raw
    lines = raw.replace("\r\n", "\n").splitlines()
    assert any(line.endswith("src line 2") for line in lines), raw
    assert "Traceback" not in raw


async def test_without_the_options_the_terminal_has_the_table(tmp_path: Path) -> None:
    # The baseline the two tests above differ from: a table, drawn in colour.
    raw = await run_in_terminal(tmp_path)
    assert any(TABLE_HEADER.match(line) for line in screen_lines(raw)), raw
    assert ESCAPE in raw
