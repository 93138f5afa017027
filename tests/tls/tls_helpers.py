"""Helpers of the TLS tests: the test certificates, a TLS `flowctl server`, and an
independent grpcio client (grpc.ssl_channel_credentials) calling ListServices."""

from __future__ import annotations

import signal
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import grpc
import trio
from cli.cli_helpers import FlowctlProcess, start_flowctl

LIST_SERVICES = "/flowctl.ControlPlane/ListServices"


@dataclass(frozen=True)
class Certs:
    """What scripts/make-test-certs made (see its header)."""

    folder: Path

    def __getattr__(self, name: str) -> Path:
        # certs.server -> server.pem, certs.server_key -> server-key.pem
        if name.startswith("_"):
            raise AttributeError(name)
        return self.folder / f"{name.replace('_', '-')}.pem"

    def server_args(self, *, mutual: bool = False) -> list[str]:
        args = ["--tls-cert", str(self.server), "--tls-key", str(self.server_key)]
        return [*args, "--tls-ca-cert", str(self.ca)] if mutual else args


async def start_server(
    nursery: trio.Nursery, cwd: Path, args: Sequence[str]
) -> tuple[FlowctlProcess, str]:
    """`flowctl server` on a free port, in memory: the process and its host:port."""
    server = await start_flowctl(
        nursery, ["server", "--port", "0", "--no-persistence", *args], cwd=cwd
    )
    return server, await server.endpoint()


async def stop_server(server: FlowctlProcess) -> None:
    server.send_signal(signal.SIGTERM)
    assert await server.wait() == 0, server.output


@dataclass(frozen=True)
class Outcome:
    code: grpc.StatusCode
    details: str


def grpcio_list(
    endpoint: str,
    *,
    trust: Path | None = None,
    cert: Path | None = None,
    key: Path | None = None,
    plain: bool = False,
) -> Outcome:
    """ListServices through grpcio: in plain text, or TLS trusting `trust` (with a client
    certificate when given). Blocking: run it in a thread."""
    if plain:
        channel = grpc.insecure_channel(endpoint)
    else:
        credentials = grpc.ssl_channel_credentials(
            root_certificates=trust.read_bytes() if trust else None,
            private_key=key.read_bytes() if key else None,
            certificate_chain=cert.read_bytes() if cert else None,
        )
        channel = grpc.secure_channel(endpoint, credentials)
    with channel:
        call = channel.unary_unary(
            LIST_SERVICES,
            request_serializer=lambda body: body,
            response_deserializer=lambda body: body,
        )
        try:
            # A guard against hangs only: a refused connection fails well before it.
            call(b"", timeout=30)
        except grpc.RpcError as error:
            return Outcome(error.code(), error.details() or "")
    return Outcome(grpc.StatusCode.OK, "")
