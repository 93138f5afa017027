"""One gRPC unary call over a fresh plain-text HTTP/2 connection, blocking, with h2 alone.

`flowctl list` asks two questions and exits. The full client (grpclib on asyncio, with
betterproto's messages) costs about 200 ms of imports before the first byte is sent; this
needs h2 (the HTTP/2 state machine grpclib itself uses) and a socket. It handles the
answer a working server gives and nothing more: every other outcome (a refused
connection, a gRPC error status, a reply it does not expect) raises `CallFailed`, and the
caller asks again with the full client, whose messages for each failure are the
established ones. TLS is left to the full client too.
"""

from __future__ import annotations

import socket
import time
from typing import Any

import h2.config
import h2.connection
import h2.events
import h2.exceptions

GRPC_OK = "0"
GRPC_UNIMPLEMENTED = "12"
_READ_BYTES = 65536


class CallFailed(Exception):
    """The call did not give an OK answer this client understands; str() says why."""

    def __init__(self, why: str, grpc_status: str | None = None) -> None:
        super().__init__(why)
        self.grpc_status = grpc_status  # the server's status, when it gave one


class CallTimedOut(CallFailed):
    """No complete answer within the timeout."""


def call_unary(
    host: str, port: int, path: str, request: bytes, *, timeout: float, max_reply_bytes: int
) -> bytes:
    """The reply message's bytes of the unary method `path` (`/package.Service/Method`).

    Bounded: the whole call within `timeout` seconds, the reply at most `max_reply_bytes`.
    """
    deadline = time.monotonic() + timeout
    try:
        # An ASCII host as bytes: getaddrinfo then skips the idna codec (15 ms to import).
        address: Any = (host.encode() if host.isascii() else host, port)  # typeshed: str
        with socket.create_connection(address, timeout=timeout) as connection:
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return _call(connection, host, port, path, request, deadline, max_reply_bytes)
    except TimeoutError:
        raise CallTimedOut(f"no answer within {timeout:g}s") from None
    except (OSError, h2.exceptions.H2Error) as error:
        raise CallFailed(str(error) or type(error).__name__) from None


def _call(
    connection: socket.socket,
    host: str,
    port: int,
    path: str,
    request: bytes,
    deadline: float,
    max_reply_bytes: int,
) -> bytes:
    http2 = h2.connection.H2Connection(
        h2.config.H2Configuration(client_side=True, header_encoding="utf-8")
    )
    http2.initiate_connection()
    stream_id = http2.get_next_available_stream_id()
    authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    http2.send_headers(
        stream_id,
        [
            (":method", "POST"),
            (":scheme", "http"),
            (":path", path),
            (":authority", authority),
            ("content-type", "application/grpc"),
            ("te", "trailers"),
            ("grpc-timeout", f"{max(1, int((deadline - time.monotonic()) * 1000))}m"),
        ],
    )
    http2.send_data(stream_id, _grpc_frame(request), end_stream=True)
    connection.sendall(http2.data_to_send())

    body = bytearray()
    headers: dict[str, str] = {}
    while True:
        connection.settimeout(max(0.001, deadline - time.monotonic()))
        data = connection.recv(_READ_BYTES)
        if not data:
            raise CallFailed("the server closed the connection")
        for event in http2.receive_data(data):
            if isinstance(event, h2.events.ResponseReceived | h2.events.TrailersReceived):
                headers.update(event.headers)  # type: ignore[arg-type]  # str: header_encoding
            elif isinstance(event, h2.events.DataReceived):
                body += event.data
                if len(body) > max_reply_bytes + 5:
                    raise CallFailed(f"a reply over {max_reply_bytes} bytes")
                # What was read may be sent again: the reply is never held back by its window.
                http2.acknowledge_received_data(event.flow_controlled_length, stream_id)
            elif isinstance(event, h2.events.StreamEnded):
                return _reply_message(headers, bytes(body))
            elif isinstance(event, h2.events.StreamReset | h2.events.ConnectionTerminated):
                raise CallFailed(f"the server ended the call ({type(event).__name__})")
        connection.sendall(http2.data_to_send())


def _grpc_frame(message: bytes) -> bytes:
    """gRPC's length-prefixed message: not compressed, 4-byte big-endian length."""
    return b"\x00" + len(message).to_bytes(4, "big") + message


def _reply_message(headers: dict[str, str], body: bytes) -> bytes:
    status = headers.get("grpc-status")
    if headers.get(":status") != "200" or status != GRPC_OK:
        raise CallFailed(f"HTTP {headers.get(':status')}, grpc-status {status}", status)
    if len(body) < 5 or body[0] != 0 or int.from_bytes(body[1:5], "big") != len(body) - 5:
        raise CallFailed("not one uncompressed gRPC message")
    return body[5:]
