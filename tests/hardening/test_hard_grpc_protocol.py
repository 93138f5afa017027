"""The control plane answers as every gRPC stack expects: an error for an unknown method
or service carries `content-type: application/grpc` (without it grpc-go reads UNKNOWN,
"malformed header"), and the standard health service says SERVING."""

from __future__ import annotations

import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trio
from cli.cli_helpers import FLOWCTL, FlowctlProcess, start_flowctl
from hard_helpers import LIST_SERVICES, http2_call, raw_client, tracebacks

HEALTH_CHECK = "/grpc.health.v1.Health/Check"
SERVING = b"\x08\x01"  # HealthCheckResponse{status: SERVING}


def is_grpc_content_type(value: str) -> bool:
    """`application/grpc`, or with a codec suffix such as `+proto` (grpclib's)."""
    return value.partition("+")[0] == "application/grpc"


def health_request(service: str) -> bytes:
    """HealthCheckRequest{service}: field 1, length-delimited (names here are short)."""
    name = service.encode()
    return (b"\x0a" + bytes([len(name)]) + name) if name else b""


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[FlowctlProcess]:
    async with trio.open_nursery() as nursery:
        running = await start_flowctl(
            nursery, ["server", "--no-persistence", "--port", "0"], cwd=tmp_path
        )
        await running.endpoint()
        yield running
        running.send_signal(signal.SIGTERM)
        assert await running.wait() == 0, running.output
    assert not tracebacks(running.output), running.output


@pytest.mark.parametrize(
    "path",
    ["/flowctl.ControlPlane/NoSuchMethod", "/no.such.Service/Method", "/garbage"],
    ids=["unknown-method", "unknown-service", "not-a-grpc-path"],
)
async def test_unknown_methods_are_unimplemented_with_a_grpc_content_type(
    server: FlowctlProcess, path: str
) -> None:
    response = await trio.to_thread.run_sync(http2_call, await server.endpoint(), path)
    answer = response.fields
    assert answer.get(":status") == "200", answer
    assert is_grpc_content_type(answer.get("content-type", "")), answer
    assert answer.get("grpc-status") == "12", answer  # UNIMPLEMENTED
    assert path not in answer.get("grpc-message", ""), answer  # the client's path: not echoed


async def test_a_known_method_is_still_answered(server: FlowctlProcess) -> None:
    response = await trio.to_thread.run_sync(http2_call, await server.endpoint(), LIST_SERVICES)
    answer = response.fields
    assert is_grpc_content_type(answer.get("content-type", "")), answer
    assert answer.get("grpc-status") == "0", answer


async def test_grpcio_reads_unimplemented(server: FlowctlProcess) -> None:
    with raw_client(await server.endpoint()) as client:
        answer = await client.call("/no.such.Service/Method")
    assert answer.code.name == "UNIMPLEMENTED"


@pytest.mark.parametrize("service", ["", "flowctl.ControlPlane", "flowctl.inspect.Inspect"])
async def test_the_health_service_says_serving(server: FlowctlProcess, service: str) -> None:
    with raw_client(await server.endpoint()) as client:
        answer = await client.call(HEALTH_CHECK, health_request(service))
    assert (answer.code.name, answer.body) == ("OK", SERVING)


async def test_the_health_of_an_unknown_service_is_not_found(server: FlowctlProcess) -> None:
    with raw_client(await server.endpoint()) as client:
        answer = await client.call(HEALTH_CHECK, health_request("no.such.Service"))
    assert answer.code.name == "NOT_FOUND"


@pytest.mark.parametrize("command", [["version"], ["list", "--endpoint"]], ids=["version", "list"])
async def test_list_and_version_do_not_load_protobuf(
    server: FlowctlProcess, tmp_path: Path, command: list[str]
) -> None:
    """The health service needs the protobuf runtime; only the server may pay for it."""
    if command[-1] == "--endpoint":
        command = [*command, await server.endpoint()]
    result = await trio.run_process(
        [sys.executable, "-X", "importtime", FLOWCTL, *command],
        capture_stdout=True,
        capture_stderr=True,
        cwd=tmp_path,
    )
    # `import time: self | cumulative | module`, the module indented by its depth.
    imported = [line.rsplit("|", 1)[-1].strip() for line in result.stderr.decode().splitlines()]
    assert "flowctl" in imported  # -X importtime did list the imports
    assert not [m for m in imported if m.startswith(("google.protobuf", "grpclib.health"))]
