"""The pipeline of issue 5's "Done means": nobody says who they are.

Two sources of the same type and event types, and a processor whose registering process is
a grandchild of flowctl (its command is a shell that forks Python), all registering with an
empty service_id and no metadata.
"""

from __future__ import annotations

import shlex
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

import trio_asyncio
from fake_component_command import fake_command
from trio_asyncio import aio_as_trio

from flowctl._proto import flowctl as pb
from flowctl.controlplane import ControlPlaneService, ServiceRegistry, open_stub
from flowctl.controlplane.grpc_server import TrackingServer
from flowctl.testing import write_pipeline

T = TypeVar("T")

SOURCE_ARGS = ("--register", "anonymous", "--type", "source", "--outputs", "ledger")
PROCESSOR_ARGS = (
    "--register", "anonymous", "--type", "processor", "--inputs", "ledger", "--outputs", "trade"
)  # fmt: skip


def processor_info() -> pb.ServiceInfo:
    """What the processor declares; an outside client may send the same."""
    return pb.ServiceInfo(
        service_type=pb.ServiceType.PROCESSOR,
        input_event_types=["ledger"],
        output_event_types=["trade"],
    )


def anonymous_pipeline(tmp_path: Path, *processor_args: str) -> Path:
    # `sh -c 'CMD; exit $?'`: CMD is not the last command, so sh forks it instead of exec.
    shell = shlex.join(fake_command(*PROCESSOR_ARGS, *processor_args)) + "; exit $?"
    return write_pipeline(
        tmp_path / "anonymous.yaml",
        sources=[
            {"id": side, "command": fake_command(*SOURCE_ARGS), "outputEventTypes": ["ledger"]}
            for side in ("left", "right")
        ],
        processors=[
            {
                "id": "proc",
                "command": ["sh", "-c", shell],
                "inputs": ["left", "right"],
                "inputEventTypes": ["ledger"],
                "outputEventTypes": ["trade"],
            }
        ],
    )


async def call(endpoint: str, rpc: Callable[[pb.ControlPlaneStub], Awaitable[T]]) -> T:
    """One grpclib call from this (test) process: a client outside any pipeline."""

    async def on_asyncio() -> T:
        async with open_stub(endpoint) as stub:
            return await rpc(stub)

    return await aio_as_trio(on_asyncio)()


@asynccontextmanager
async def older_control_plane() -> AsyncIterator[tuple[str, ServiceRegistry]]:
    """A control plane that serves the wire contract only, like the original Go flowctl:
    no flowctl.inspect service. Yields its endpoint and its registry."""
    async with trio_asyncio.open_loop():
        registry = ServiceRegistry()
        server = TrackingServer([ControlPlaneService(registry)])
        await aio_as_trio(server.start)("127.0.0.1", 0)
        try:
            yield f"127.0.0.1:{server.bound_port()}", registry
        finally:
            server.close()
            server.close_connections()
            await aio_as_trio(server.wait_closed)()
