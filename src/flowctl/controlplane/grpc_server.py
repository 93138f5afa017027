"""A grpclib Server that can report its bound address and close its client connections.

grpclib's `Server.close()` cancels in-flight calls but leaves idle client connections open
and still serving (and on Python 3.12+ `wait_closed()` then waits for them forever), and
it has no public accessor for the bound port. Both need its internals: the protocol
factory (to remember each connection) and the asyncio server (for its sockets).

It also answers unknown methods as a gRPC error with `content-type: application/grpc`:
grpclib's own answer has no content-type, which grpc-go reads as UNKNOWN ("malformed
header") instead of UNIMPLEMENTED. And it answers a request whose deadline has already
passed with DEADLINE_EXCEEDED: grpclib enters such a deadline outside its own error
handling, so the client got UNKNOWN and the server logged a traceback.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import h2.exceptions
from betterproto.lib.google.protobuf import Empty
from grpclib import GRPCError
from grpclib.const import Cardinality, Handler, Status
from grpclib.metadata import decode_timeout
from grpclib.protocol import H2Protocol
from grpclib.protocol import Stream as H2Stream
from grpclib.server import Handler as ConnectionHandler
from grpclib.server import Server, Stream

from .codec import PreEncodedProtoCodec


class TrackingServer(Server):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("codec", PreEncodedProtoCodec())
        super().__init__(*args, **kwargs)
        # Weak: a connection that went away on its own must not be kept alive here.
        self._protocols: weakref.WeakSet[H2Protocol] = weakref.WeakSet()
        self._mapping = _MethodsOrUnimplemented(self._mapping)

    def _protocol_factory(self) -> H2Protocol:
        # grpclib's own factory, with the connection handler below in place of its own.
        self.__gc_step__()
        handler = _ConnectionHandler(
            self._mapping, self._codec, self._status_details_codec, self.__dispatch__
        )
        self._handlers.add(handler)
        protocol = H2Protocol(handler, self._config, self._h2_config)
        self._protocols.add(protocol)
        return protocol

    def bound_port(self) -> int:
        """The port of the first listening socket (the real one when 0 was asked)."""
        assert self._server is not None, "server not started"
        # asyncio.Server has `sockets`; the AbstractServer it is typed as does not.
        return int(self._server.sockets[0].getsockname()[1])  # type: ignore[attr-defined]

    def bound_addresses(self) -> list[str]:
        """The address of every listening socket (several for a name such as localhost)."""
        assert self._server is not None, "server not started"
        sockets = self._server.sockets  # type: ignore[attr-defined]
        return [str(sock.getsockname()[0]) for sock in sockets]

    def close_connections(self) -> None:
        """Say GOAWAY on every open client connection, then close its transport."""
        for protocol in list(self._protocols):
            connection = getattr(protocol, "connection", None)
            if connection is None or connection.is_closing():
                continue
            try:
                connection._connection.close_connection()
                connection.flush()
            except h2.exceptions.ProtocolError:
                pass  # the HTTP/2 state no longer allows GOAWAY: just close
            # What grpclib does itself when a connection is lost: close the transport,
            # cancel the connection's handlers, end its streams.
            protocol.processor.close("control plane stopped")


class _MethodsOrUnimplemented(dict[str, Handler]):
    """The server's methods; any other path gets a handler answering UNIMPLEMENTED.

    grpclib looks methods up with `mapping.get(path)` and, for None, answers without a
    content-type; an error raised by a handler goes out as a proper trailers-only gRPC
    response instead. The path is not echoed back: it is the client's, of any length.
    """

    def get(self, path: str, default: Any = None) -> Handler:
        return super().get(path) or _UNIMPLEMENTED


async def _unimplemented(stream: Stream[Empty, Empty]) -> None:
    raise GRPCError(Status.UNIMPLEMENTED, "Method not found")


# The message types are never used: the handler raises before reading the request.
_UNIMPLEMENTED = Handler(_unimplemented, Cardinality.UNARY_UNARY, Empty, Empty)


# A deadline this close is gone by the time a handler could run.
_EXPIRED = 0.001


class _ConnectionHandler(ConnectionHandler):
    """grpclib's handler of one connection's requests, answering those whose deadline
    has passed before they start."""

    def accept(
        self, stream: H2Stream, headers: list[tuple[str, str]], release_stream: Callable[[], Any]
    ) -> None:
        if _deadline_passed(headers):
            self.__gc_step__()
            self._tasks[stream] = self.loop.create_task(_deadline_exceeded(stream, release_stream))
        else:
            super().accept(stream, headers, release_stream)


def _deadline_passed(headers: list[tuple[str, str]]) -> bool:
    for name, value in headers:
        if name == "grpc-timeout":
            try:
                return decode_timeout(value) < _EXPIRED
            except ValueError:
                return False  # grpclib answers an invalid timeout itself
    return False


async def _deadline_exceeded(stream: H2Stream, release_stream: Callable[[], Any]) -> None:
    try:
        await stream.send_headers(
            [
                (":status", "200"),
                ("content-type", "application/grpc+proto"),
                ("grpc-status", str(Status.DEADLINE_EXCEEDED.value)),
                ("grpc-message", "Deadline Exceeded"),
            ],
            end_stream=True,
        )
        if stream.closable:
            stream.reset_nowait()
    except (h2.exceptions.H2Error, OSError):
        pass  # the client has gone: nobody to tell
    finally:
        release_stream()
