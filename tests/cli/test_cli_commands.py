"""The smaller commands: version, help, the hidden server, and list against it."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import trio
from cli_helpers import run_flowctl, start_flowctl
from grpclib.client import Channel

from flowctl import __version__
from flowctl._proto import flowctl as pb


async def test_version(tmp_path: Path) -> None:
    status, out, _ = await run_flowctl(["version"], cwd=tmp_path)
    assert status == 0 and __version__ in out


async def test_help_lists_run_and_list_but_hides_server(tmp_path: Path) -> None:
    status, out, _ = await run_flowctl(["--help"], cwd=tmp_path)
    assert status == 0
    assert "run" in out and "list" in out
    assert "server" not in out


async def test_list_without_a_control_plane_says_so(tmp_path: Path) -> None:
    status, out, err = await run_flowctl(["list", "--endpoint", "127.0.0.1:1"], cwd=tmp_path)
    assert status == 1
    assert "127.0.0.1:1" in err and "Traceback" not in out + err


async def test_hidden_server_serves_the_contract_to_list(tmp_path: Path) -> None:
    async with trio.open_nursery() as nursery:
        server = await start_flowctl(
            nursery, ["server", "--port", "0", "--no-persistence"], cwd=tmp_path
        )
        endpoint = await server.endpoint()
        host, port = endpoint.rsplit(":", 1)

        async def register() -> None:
            import trio_asyncio

            async with trio_asyncio.open_loop():

                async def talk() -> None:
                    channel = Channel(host, int(port))
                    try:
                        stub = pb.ControlPlaneStub(channel)
                        await stub.register(pb.ServiceInfo(service_type=7))
                        await stub.register(
                            pb.ServiceInfo(
                                service_type=pb.ServiceType.SOURCE,
                                output_event_types=["a.b"],
                            )
                        )
                    finally:
                        channel.close()

                await trio_asyncio.aio_as_trio(talk)()

        await register()
        status, out, err = await run_flowctl(
            ["list", "--endpoint", endpoint, "--output", "json"], cwd=tmp_path
        )
        assert status == 0, err
        types = [service["serviceType"] for service in json.loads(out)["services"]]
        assert types == [7, "SERVICE_TYPE_SOURCE"]

        status, out, err = await run_flowctl(["list", "--endpoint", endpoint], cwd=tmp_path)
        assert status == 0, err
        assert "SOURCE" in out and "healthy" in out

        server.send_signal(signal.SIGTERM)
        assert await server.wait() == 0
        nursery.cancel_scope.cancel()


# What the README tells a user to type: each must be in the help, with its default.
RUN_OPTIONS = {
    "--control-plane-port": "[default: 8080]",
    "--control-plane-address": "[default: 127.0.0.1]",
    "--log-dir": "[default: logs]",
    "--heartbeat-ttl": "[default: 30s]",
    "--janitor-interval": "[default: 10s]",
    "--heartbeat-interval": "FLOWCTL_HEARTBEAT_INTERVAL. [default: 10s]",
    "--registration-timeout": "[default: 30s]",
    "--shutdown-grace": "[default: 10s]",
    "--no-status": "",
    "--no-color": "NO_COLOR",
    "--log-level": "debug, info, warning, error] [default: info]",
    "--log-format": "text, json] [default: text]",
}


def help_text(out: str) -> str:
    """The help without its frame, each option's lines joined: wrapping differs by width."""
    return " ".join(line.strip("│╭╮╰╯─ ") for line in out.splitlines())


async def test_run_help_says_what_each_command_and_default_is(tmp_path: Path) -> None:
    status, out, _ = await run_flowctl(["--help"], cwd=tmp_path)
    assert status == 0 and "Show the services of" in out
    commands = {line.strip("│ ").split()[0] for line in out.splitlines() if line.startswith("│ ")}
    assert {"run", "list", "version"} <= commands, out
    status, out, _ = await run_flowctl(["run", "--help"], cwd=tmp_path)
    assert status == 0
    assert "[default: 30s]" in out  # durations shown as they are written, not as 30.0
    assert "COMPONENT-ID.log" in out
    assert "PIPELINE" in out and "flow.yml" in out
    text = help_text(out)
    for option, detail in RUN_OPTIONS.items():
        assert option in text, f"{option} missing from run --help:\n{out}"
        described = text[text.index(option) :][:300]  # its own row, not the next ones
        assert detail in described, f"{option}: {detail!r} missing from run --help:\n{out}"
    status, out, _ = await run_flowctl(["list", "--help"], cwd=tmp_path)
    assert status == 0
    text = help_text(out)
    assert "--endpoint" in text and "localhost:8080" in text
    assert "--output" in text and "table, json" in text
