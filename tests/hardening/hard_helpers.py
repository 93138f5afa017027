"""Helpers for the hardening tests: an independent grpcio client sending raw bytes, a bare
HTTP/2 client (the h2 package) for what grpcio will not send, a launcher that lowers the
open-file limit, and raw connections."""

from __future__ import annotations

import contextlib
import socket
import struct
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field

import grpc
import h2.config
import h2.connection
import h2.events
import trio

# The contract's methods, as full gRPC paths.
REGISTER = "/flowctl.ControlPlane/Register"
HEARTBEAT = "/flowctl.ControlPlane/Heartbeat"
GET_SERVICE_STATUS = "/flowctl.ControlPlane/GetServiceStatus"
LIST_SERVICES = "/flowctl.ControlPlane/ListServices"

# Runs its arguments with RLIMIT_NOFILE lowered (soft and hard): `launcher` of start_flowctl.
_LOW_FD_LIMIT = (
    "import os, resource, sys\n"
    "limit = int(sys.argv[1])\n"
    "resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))\n"
    "os.execv(sys.argv[2], sys.argv[2:])\n"
)


def fd_limit_launcher(limit: int) -> list[str]:
    return [sys.executable, "-c", _LOW_FD_LIMIT, str(limit)]


def varint(value: int) -> bytes:
    """A non-negative int as a protobuf varint: 7-bit groups, lowest first, each but the
    last with its high bit set. (Written apart from flowctl's encoder on purpose.)"""
    groups = [value >> shift & 0x7F for shift in range(0, max(value.bit_length(), 1), 7)]
    return bytes(group | 0x80 for group in groups[:-1]) + bytes(groups[-1:])


@dataclass
class Answer:
    code: grpc.StatusCode
    details: str
    body: bytes | None = None  # the reply's bytes; None when the call failed


class RawClient:
    """One grpcio channel (one connection, kept open) making unary calls with raw bytes."""

    def __init__(self, endpoint: str) -> None:
        # Above grpcio's 4 MiB default, so that the server is the one refusing a large body.
        self.channel = grpc.insecure_channel(
            endpoint, options=[("grpc.max_send_message_length", 64 * 1024 * 1024)]
        )

    def call_blocking(self, path: str, body: bytes = b"", timeout: float = 60) -> Answer:
        """`path` is the full gRPC path, such as REGISTER. `timeout` only guards against a
        hang; wait_for_ready rides over a connection the server cannot accept yet."""
        rpc = self.channel.unary_unary(path)
        try:
            return Answer(grpc.StatusCode.OK, "", rpc(body, timeout=timeout, wait_for_ready=True))
        except grpc.RpcError as error:
            return Answer(error.code(), error.details() or "")

    async def call(self, path: str, body: bytes = b"", timeout: float = 60) -> Answer:
        """call_blocking in a worker thread, so trio keeps running."""
        return await trio.to_thread.run_sync(self.call_blocking, path, body, timeout)

    def close(self) -> None:
        self.channel.close()


@contextlib.contextmanager
def raw_client(endpoint: str) -> Iterator[RawClient]:
    client = RawClient(endpoint)
    try:
        yield client
    finally:
        client.close()


@contextlib.contextmanager
def idle_connections(port: int, count: int) -> Iterator[list[socket.socket]]:
    """`count` TCP connections to the port that never say anything (connects are not
    waited for: past the server's backlog the kernel holds them back)."""
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                sock.connect(("127.0.0.1", port))
            sockets.append(sock)
        yield sockets
    finally:
        for sock in sockets:
            sock.close()


def tracebacks(output: str) -> list[str]:
    return [line for line in output.splitlines() if "Traceback" in line]


def grpc_message(body: bytes) -> bytes:
    """`body` framed as one gRPC message: not compressed, its length, the bytes."""
    return b"\0" + len(body).to_bytes(4, "big") + body


def _grpc_request_headers(
    authority: str, path: str, extra: dict[str, str] | None = None
) -> list[tuple[str, str]]:
    headers = {
        ":method": "POST",
        ":scheme": "http",
        ":path": path,
        ":authority": authority,
        "content-type": "application/grpc",
        "te": "trailers",
        **(extra or {}),
    }
    return list(headers.items())


def drop_with_calls_in_flight(port: int, calls: int = 100) -> None:
    """Start `calls` ListServices calls on one raw HTTP/2 connection, and reset it (RST,
    no FIN) as soon as the first answers arrive: the rest are answered to a dead peer."""
    connection = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    connection.initiate_connection()
    for _ in range(calls):
        stream = connection.get_next_available_stream_id()
        connection.send_headers(stream, _grpc_request_headers("localhost", LIST_SERVICES))
        connection.send_data(stream, grpc_message(b""), end_stream=True)
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(connection.data_to_send())
        received = 0
        while received < 2000:  # past the server's SETTINGS: some calls were answered
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += len(chunk)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


@dataclass
class Http2Response:
    headers: dict[str, str] = field(default_factory=dict)
    trailers: dict[str, str] = field(default_factory=dict)
    data: bytes = b""

    @property
    def fields(self) -> dict[str, str]:
        """Headers and trailers as one (a trailers-only answer has them all in the headers)."""
        return {**self.headers, **self.trailers}

    @property
    def grpc_status(self) -> str | None:
        return self.fields.get("grpc-status")


def http2_call(
    endpoint: str, path: str, body: bytes = b"", extra_headers: dict[str, str] | None = None
) -> Http2Response:
    """One gRPC call by hand over a new connection (blocking: run it in a thread). `body`
    is the message's bytes (framed here); `extra_headers` are added to the request's."""
    host, port = endpoint.rsplit(":", 1)
    connection = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    connection.initiate_connection()
    stream = connection.get_next_available_stream_id()
    connection.send_headers(stream, _grpc_request_headers(endpoint, path, extra_headers))
    connection.send_data(stream, grpc_message(body), end_stream=True)
    response = Http2Response()
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(connection.data_to_send())
        while True:
            chunk = sock.recv(65536)
            assert chunk, f"connection closed before the answer; so far {response}"
            for event in connection.receive_data(chunk):
                if isinstance(event, h2.events.ResponseReceived):
                    response.headers = _text_headers(event.headers)
                elif isinstance(event, h2.events.TrailersReceived):
                    response.trailers = _text_headers(event.headers)
                elif isinstance(event, h2.events.DataReceived):
                    response.data += event.data
                    connection.acknowledge_received_data(len(event.data), event.stream_id)
                if isinstance(event, h2.events.StreamEnded | h2.events.StreamReset):
                    return response
            sock.sendall(connection.data_to_send())


def _text_headers(headers: list[tuple[bytes, bytes]] | None) -> dict[str, str]:
    return {bytes(name).decode(): bytes(value).decode() for name, value in headers or []}
