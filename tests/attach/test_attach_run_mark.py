"""Step 3 for a process that left its component's tree: found by the run's mark
(FLOWCTL_RUN_ID=<run>/<component>), never by another run's."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
import trio
from cli.cli_helpers import run_flowctl, start_flowctl
from fake_component_command import fake_command

from flowctl._proto import flowctl as pb
from flowctl.controlplane import Attachment, NotAttached, PeerInfo
from flowctl.orchestrator.run_tag import RUN_ID_VARIABLE, run_prefix
from flowctl.pipeline import load_pipeline
from flowctl.process_identity import NotDescendant, OwnedBy, find_connection_owner
from flowctl.runner.attach import PipelineAttacher
from flowctl.testing import open_test_pipeline, write_pipeline

pytestmark = pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux /proc")

SOURCE_ARGS = ("--register", "anonymous", "--type", "source", "--outputs", "ledger")

# Connects to the port in argv[1], says so, then holds the connection open.
CLIENT = (
    "import socket, sys, time; s = socket.create_connection(('127.0.0.1', int(sys.argv[1]))); "
    "print('connected', flush=True); time.sleep(60)"
)


def two_sources(tmp_path: Path) -> Path:
    """Two sources declaring the same, so no declaration can tell them apart; `daemon`
    registers from a double-forked daemon, `plain` from its main process."""
    return write_pipeline(
        tmp_path / "p.yaml",
        sources=[
            {
                "id": "daemon",
                "command": fake_command(*SOURCE_ARGS, "--register-from-daemon"),
                "outputEventTypes": ["ledger"],
            },
            {"id": "plain", "command": fake_command(*SOURCE_ARGS), "outputEventTypes": ["ledger"]},
        ],
    )


async def test_a_daemon_that_left_the_tree_attaches_by_its_mark(tmp_path: Path) -> None:
    daemon_has_its_id = trio.Event()

    async def watch_output(component_id: str, stream: str, line: str) -> None:
        if component_id == "daemon" and line == "registered as daemon":
            daemon_has_its_id.set()

    with trio.fail_after(30):
        path = two_sources(tmp_path)
        async with open_test_pipeline(path, log_dir=tmp_path / "logs", output=watch_output) as run:
            assert await run.wait_ready()
            await daemon_has_its_id.wait()
            records = await run.control_plane.list_services()
            # The registering process is no descendant of the component's, nor of flowctl's
            # (this process): only the two main processes are.
            assert psutil.Process(run.components["daemon"].pid).children() == []
            assert {p.pid for p in psutil.Process().children(recursive=True)} == {
                running.pid for running in run.components.values()
            }
    attached = {r.service_id: (r.component_id, r.attachment and r.attachment.how) for r in records}
    assert attached == {"daemon": ("daemon", "by process"), "plain": ("plain", "by process")}


async def test_under_flowctl_run_a_daemon_adopted_by_flowctl_attaches_by_its_mark(
    tmp_path: Path,
) -> None:
    # `flowctl run` is a subreaper: the daemon becomes flowctl's child, in no component's
    # tree or session.
    path = two_sources(tmp_path)
    args = ["run", str(path), "--control-plane-port", "0", "--log-dir", str(tmp_path / "logs")]
    async with trio.open_nursery() as nursery:
        flowctl = await start_flowctl(nursery, args, cwd=tmp_path)
        endpoint = await flowctl.endpoint()
        await flowctl.wait_for_line(r"all 2 components registered")
        status, table, errors = await run_flowctl(["list", "--endpoint", endpoint], cwd=tmp_path)
        flowctl.send_signal(signal.SIGINT)
        assert await flowctl.wait() == 0, flowctl.output
        nursery.cancel_scope.cancel()
    assert status == 0, errors
    rows = {line.split()[0]: line for line in table.strip().splitlines()[1:]}
    assert set(rows) == {"daemon", "plain"}, table
    assert rows["daemon"].endswith("by process"), table
    assert rows["plain"].endswith("by process"), table
    assert "part of no component" not in flowctl.output


@contextmanager
def client_connected(env_mark: str) -> Iterator[tuple[PeerInfo, int]]:
    """A child process carrying FLOWCTL_RUN_ID=`env_mark`, connected to a listener here:
    the connection as the server sees it, and the child's pid."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.settimeout(10)  # a hang guard
        argv = [sys.executable, "-c", CLIENT, str(server.getsockname()[1])]
        env = {**os.environ, RUN_ID_VARIABLE: env_mark}
        client = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, text=True)
        try:
            connection, peer = server.accept()
            with connection:
                server_end = connection.getsockname()[:2]
                yield PeerInfo(peer[0], peer[1], server=server_end), client.pid
        finally:
            client.kill()
            client.wait()


@dataclass
class Running:
    pid: int


def attacher_of_run(tmp_path: Path, run_id: str) -> PipelineAttacher:
    attacher = PipelineAttacher(load_pipeline(two_sources(tmp_path)), run_id=run_id)
    # Main pids that are not the client's ancestors: its tree reaches no component.
    attacher.follow({"daemon": Running(2**22 + 1), "plain": Running(2**22 + 2)})
    return attacher


ANONYMOUS = pb.ServiceInfo(service_type=pb.ServiceType.SOURCE, output_event_types=["ledger"])


def test_a_process_whose_tree_reaches_no_component_attaches_by_this_runs_mark(
    tmp_path: Path,
) -> None:
    attacher = attacher_of_run(tmp_path, "ours")
    with client_connected("ours/plain") as (peer, _):
        assert attacher.attach(ANONYMOUS, peer, set()) == Attachment("plain", "by process")


def test_another_runs_mark_never_counts(tmp_path: Path) -> None:
    # A nested flowctl marks its own components with its own run id, same component ids.
    attacher = attacher_of_run(tmp_path, "ours")
    with client_connected("theirs/plain") as (peer, pid):
        answer = attacher.attach(ANONYMOUS, peer, set())
    assert answer == NotAttached(f"registered by pid {pid}, part of no component")


def test_the_marked_processes_are_searched_beyond_the_root() -> None:
    # The root: a process with no children, so the client is no descendant of it.
    with subprocess.Popen(["sleep", "60"]) as childless:
        try:
            with client_connected("ours/plain") as (peer, pid):
                address, server = (peer.host, peer.port), peer.server
                ours = find_connection_owner(
                    address, server, childless.pid, mark=run_prefix("ours")
                )
                theirs = find_connection_owner(
                    address, server, childless.pid, mark=run_prefix("theirs")
                )
                unmarked = find_connection_owner(address, server, childless.pid)
        finally:
            childless.kill()
    assert isinstance(ours, OwnedBy) and ours.pid == pid and ours.mark == "plain"
    assert theirs == NotDescendant()
    assert unmarked == NotDescendant()
