"""What the screen says, word for word: Ctrl+C typed at a terminal, the order and the
grammar of flowctl's lines, `flowctl server`'s registrations, `flowctl list`'s ATTACHED
column and the help of `flowctl run`."""

from __future__ import annotations

import asyncio
import re
import signal
import termios
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import trio
import trio_asyncio
from cli_helpers import cli_env, run_flowctl, start_flowctl
from cli_screen import TABLE_TITLE, TIMESTAMP, start_at_keyboard, table_on_screen
from fake_component_command import fake_command
from grpclib.client import Channel

from flowctl._proto import flowctl as pb
from flowctl._proto.flowctl import inspect as pb_inspect
from flowctl.controlplane.grpc_server import TrackingServer
from flowctl.controlplane.registry import ServiceRegistry
from flowctl.controlplane.service import ControlPlaneService
from flowctl.testing import write_pipeline


def one_component(tmp_path: Path, *flags: str) -> Path:
    return write_pipeline(
        tmp_path / "p.yaml",
        sources=[{"id": "only-source", "command": fake_command(*flags)}],
    )


def two_components(tmp_path: Path) -> Path:
    # Wider than a 120-column terminal leaves them: the table fills every column.
    values = ("total_processed=10", "ledgers_received=56000002", "bytes_received=987654321")
    metrics = [flag for value in values for flag in ("--metric", value)]
    # The sink ignores SIGTERM, so the graceful stop lasts until the second Ctrl+C, however
    # late a loaded machine delivers it.
    sink = fake_command("--type", "sink", "--ignore-sigterm")
    return write_pipeline(
        tmp_path / "p.yaml",
        sources=[{"id": "source", "command": fake_command(*metrics)}],
        sinks=[{"id": "sink", "command": sink, "inputs": ["source"]}],
    )


async def test_ctrl_c_leaves_no_table_title_behind(tmp_path: Path) -> None:
    """A wide terminal: the table used to fill every column, the echoed ^C wrapped, and
    each Ctrl+C left a `2/2 healthy` line above the stop message."""
    terminal = await start_at_keyboard(
        ["run", str(two_components(tmp_path)), "--control-plane-port", "0"],
        cwd=tmp_path,
        env=cli_env(TERM="xterm-256color"),
        columns=120,
    )
    try:
        # The sink healthy: it registered, so it ignores SIGTERM by now (pressed before, the
        # graceful stop could end before the second Ctrl+C).
        await terminal.read_until(
            lambda lines: (
                any(row.get("METRICS") for row in table_on_screen(lines))
                and [row["STATE"] for row in table_on_screen(lines)] == ["healthy", "healthy"]
            )
        )
        await terminal.press_ctrl_c()
        await terminal.read_until(lambda lines: any("SIGINT received" in x for x in lines))
        await terminal.press_ctrl_c()  # the second one kills at once
        await terminal.read_to_end()
        await terminal.process.wait()
    finally:
        await terminal.aclose()
    assert not [line for line in terminal.lines if TABLE_TITLE.match(line)], terminal.text()
    assert "killing every component now" in terminal.text()


async def test_ctrl_c_without_the_table_starts_the_next_line_afresh(tmp_path: Path) -> None:
    terminal = await start_at_keyboard(
        ["run", str(one_component(tmp_path)), "--control-plane-port", "0", "--no-status"],
        cwd=tmp_path,
        env=cli_env(TERM="xterm-256color"),
        columns=120,
    )
    try:
        # Quiet first: the component's last line in whole. A Ctrl+C discards the output the
        # terminal has not shown yet (no NOFLSH), and the pty sends a line's "\r\n" apart
        # from its text, so a ^C pressed while a line is half shown lands at its end.
        await terminal.read_until(
            lambda lines: (
                any("all 1 component " in x for x in lines)
                and any("registered as only-source" in x for x in lines)
                and terminal.at_line_start
            )
        )
        await terminal.press_ctrl_c()
        await terminal.read_to_end()
        assert await terminal.process.wait() == 0
    finally:
        await terminal.aclose()
    lines = terminal.lines
    echoed = lines.index("^C")  # the terminal's echo, alone on its line
    assert TIMESTAMP.match(lines[echoed + 1]) and "SIGINT received" in lines[echoed + 1]


async def test_ctrl_c_loses_none_of_the_output_the_screen_had_not_shown(tmp_path: Path) -> None:
    """A terminal discards the output it holds unshown when Ctrl+C is typed (ISIG without
    NOFLSH): the lines flowctl wrote just before the ^C never reached the screen."""
    terminal = await start_at_keyboard(
        [
            "run",
            str(one_component(tmp_path, "--lines", "200")),
            "--control-plane-port",
            "0",
            "--no-status",
            "--log-dir",
            "logs",
        ],
        cwd=tmp_path,
        env=cli_env(TERM="xterm-256color"),
        columns=120,
    )
    log = tmp_path / "logs" / "only-source.log"
    try:
        # A screen that has not kept up: nothing is read until the component has said all.
        with trio.fail_after(60):
            while "registered as only-source" not in (log.read_text() if log.exists() else ""):
                await trio.sleep(0.05)
        assert terminal.unread() > 0
        await terminal.press_ctrl_c()
        await terminal.read_to_end()
        assert await terminal.process.wait() == 0
        modes_after = terminal.modes()
    finally:
        await terminal.aclose()
    lost = [line for line in log.read_text().splitlines() if line not in terminal.raw]
    assert not lost, terminal.raw
    assert "SIGINT received" in terminal.raw
    assert not modes_after[3] & termios.NOFLSH  # the terminal's own modes are back


async def test_the_endpoint_comes_first_and_counts_are_singular(tmp_path: Path) -> None:
    # Its one line before exiting: "exiting with 3" (on stderr).
    pipeline = one_component(
        tmp_path, "--register", "never", "--exit-after", "0.2", "--exit-code", "3"
    )
    status, out, err = await run_flowctl(
        ["run", str(pipeline), "--control-plane-port", "0"], cwd=tmp_path
    )
    assert status == 1
    lines = out.splitlines()
    listening = next(i for i, x in enumerate(lines) if "control plane listening on" in x)
    started = next(i for i, x in enumerate(lines) if "started only-source" in x)
    assert listening < started, out
    assert "last 1 line from 'only-source':" in err, err


async def test_registered_counts_one_component(tmp_path: Path) -> None:
    async with trio.open_nursery() as nursery:
        run = await start_flowctl(
            nursery,
            ["run", str(one_component(tmp_path)), "--control-plane-port", "0"],
            cwd=tmp_path,
        )
        await run.wait_for_line(r"all 1 component registered$")
        run.send_signal(signal.SIGINT)
        assert await run.wait() == 0


async def register_two(endpoint: str) -> None:
    host, port = endpoint.rsplit(":", 1)
    async with trio_asyncio.open_loop():

        async def talk() -> None:
            channel = Channel(host, int(port))
            try:
                stub = pb.ControlPlaneStub(channel)
                for kind in (pb.ServiceType.SOURCE, pb.ServiceType.SINK):
                    await stub.register(pb.ServiceInfo(service_type=kind))
            finally:
                channel.close()

        await trio_asyncio.aio_as_trio(talk)()


async def test_a_server_has_no_pipeline_to_be_a_stranger_to(tmp_path: Path) -> None:
    async with trio.open_nursery() as nursery:
        server = await start_flowctl(
            nursery, ["server", "--port", "0", "--no-persistence"], cwd=tmp_path
        )
        endpoint = await server.endpoint()
        await register_two(endpoint)
        await server.wait_for_line(r"registered \S+ \(SERVICE_TYPE_SINK\)$")
        status, out, err = await run_flowctl(["list", "--endpoint", endpoint], cwd=tmp_path)
        server.send_signal(signal.SIGTERM)
        assert await server.wait() == 0
    assert "not part of this pipeline" not in server.output
    assert "warning" not in server.output
    assert status == 0, err
    rows = out.splitlines()[1:]
    assert len(rows) == 2 and all(row.endswith("no: the server runs no pipeline") for row in rows)


class SilentInspect(pb_inspect.InspectBase):
    """A server that has flowctl.inspect, but whose answer never comes."""

    async def list_attachments(
        self, betterproto_lib_google_protobuf_empty: object
    ) -> pb_inspect.AttachmentList:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


@asynccontextmanager
async def server_with_silent_inspect() -> AsyncIterator[str]:
    async with trio_asyncio.open_loop():
        server = TrackingServer([ControlPlaneService(ServiceRegistry()), SilentInspect()])
        await trio_asyncio.aio_as_trio(server.start)("127.0.0.1", 0)
        try:
            yield f"127.0.0.1:{server.bound_port()}"
        finally:
            server.close()
            server.close_connections()
            await trio_asyncio.aio_as_trio(server.wait_closed)()


async def test_list_says_why_the_attached_column_is_missing(tmp_path: Path) -> None:
    async with server_with_silent_inspect() as endpoint:
        await register_two(endpoint)
        status, out, err = await run_flowctl(["list", "--endpoint", endpoint], cwd=tmp_path)
    assert status == 0, err
    assert "ATTACHED" not in out and "SOURCE" in out.upper()
    assert re.search(r"no ATTACHED column: .*no answer within", err), err


async def test_run_usage_names_the_pipeline_and_hides_the_compatibility_flag(
    tmp_path: Path,
) -> None:
    status, out, _ = await run_flowctl(["run", "--help"], cwd=tmp_path)
    assert status == 0
    assert out.splitlines()[0] == "Usage: flowctl run [OPTIONS] [PIPELINE]"
    # The pipeline file chooses process or container per component; the old flag is kept
    # so scripts that pass it still start, and is not offered to newcomers.
    assert "--orchestrator" not in out
    status, _, err = await run_flowctl(["run", "--orchestrator", "vm"], cwd=tmp_path)
    assert status == 2 and "vm" in err and "Traceback" not in err
