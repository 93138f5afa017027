"""Out of file descriptors: accept() fails with EMFILE. The control plane says so once,
keeps serving its open connections, and accepts again once descriptors are free; a run
keeps its components. (asyncio backs off for a second and retries by itself.)"""

from __future__ import annotations

import re
import signal
from pathlib import Path

import trio
from cli.cli_helpers import FlowctlProcess, start_flowctl
from fake_component_command import fake_command
from hard_helpers import (
    LIST_SERVICES,
    fd_limit_launcher,
    idle_connections,
    raw_client,
    tracebacks,
)

from flowctl.testing import write_pipeline

FD_LIMIT = 64
# More connections than the limit leaves room for, whatever flowctl holds open itself.
EXTRA_CONNECTIONS = FD_LIMIT + 16
CANNOT_ACCEPT = r"cannot accept new connections: Too many open files \(EMFILE\)"


async def _exhaust_and_recover(flowctl: FlowctlProcess) -> None:
    """With descriptors exhausted, an open connection is answered and the process lives;
    after they are freed, a new client is answered. One line about it, no traceback."""
    endpoint = await flowctl.endpoint()
    port = int(endpoint.rsplit(":", 1)[1])
    with raw_client(endpoint) as existing:
        answer = await existing.call(LIST_SERVICES)
        assert answer.code.name == "OK"  # its connection is open before the flood

        with idle_connections(port, EXTRA_CONNECTIONS):
            await flowctl.wait_for_line(CANNOT_ACCEPT)
            answer = await existing.call(LIST_SERVICES)
            assert answer.code.name == "OK", flowctl.output
            assert flowctl.process.returncode is None, flowctl.output

        with raw_client(endpoint) as newcomer:
            answer = await newcomer.call(LIST_SERVICES)
            assert answer.code.name == "OK", flowctl.output

    assert len(re.findall(CANNOT_ACCEPT, flowctl.output)) == 1, flowctl.output


async def test_the_server_survives_emfile_and_accepts_again(tmp_path: Path) -> None:
    async with trio.open_nursery() as nursery:
        server = await start_flowctl(
            nursery,
            ["server", "--no-persistence", "--port", "0"],
            cwd=tmp_path,
            launcher=fd_limit_launcher(FD_LIMIT),
        )
        await _exhaust_and_recover(server)
        server.send_signal(signal.SIGTERM)
        assert await server.wait() == 0, server.output
    assert not tracebacks(server.output), server.output


async def test_a_run_keeps_its_components_through_emfile(tmp_path: Path) -> None:
    pipeline = write_pipeline(
        tmp_path / "p.yaml", sources=[{"id": "src", "command": fake_command()}]
    )
    async with trio.open_nursery() as nursery:
        run = await start_flowctl(
            nursery,
            ["run", str(pipeline), "--control-plane-port", "0", "--no-status"],
            cwd=tmp_path,
            launcher=fd_limit_launcher(FD_LIMIT),
        )
        await run.wait_for_line(r"all 1 components? registered")
        await _exhaust_and_recover(run)
        # A component that had stopped would have failed the run (status 1).
        run.send_signal(signal.SIGINT)
        assert await run.wait() == 0, run.output
    assert re.search(r"\bsrc stopped \(exited normally\)", run.output), run.output
    assert not tracebacks(run.output), run.output
