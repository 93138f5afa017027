"""A grpclib Server that can report its bound address and close its client connections.

grpclib's `Server.close()` cancels in-flight calls but leaves idle client connections open
and still serving (and on Python 3.12+ `wait_closed()` then waits for them forever), and
it has no public accessor for the bound port. Both need its internals: the protocol
factory (to remember each connection) and the asyncio server (for its sockets).

Each response's writes are gathered and sent at once: grpclib writes a unary response as
three separate socket writes (headers, message, trailers), a system call each; gathered,
they are one (see `_CoalescingTransport`).

It also answers unknown methods as a gRPC error with `content-type: application/grpc`:
grpclib's own answer has no content-type, which grpc-go reads as UNKNOWN ("malformed
header") instead of UNIMPLEMENTED. And it answers a request whose deadline has already
passed with DEADLINE_EXCEEDED: grpclib enters such a deadline outside its own error
handling, so the client got UNKNOWN and the server logged a traceback.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Coroutine
from typing import Any, cast

import h2.exceptions
from betterproto.lib.google.protobuf import Empty
from grpclib import GRPCError
from grpclib.const import Cardinality, Handler, Status
from grpclib.metadata import decode_timeout
from grpclib.protocol import H2Protocol
from grpclib.protocol import Stream as H2Stream
from grpclib.server import Handler as ConnectionHandler
from grpclib.server import Server, Stream, request_handler

from .codec import PreEncodedProtoCodec


class TrackingServer(Server):
    # The connection protocol: the benchmark swaps in grpclib's own to measure the gathering.
    protocol_class: type[H2Protocol]

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
        protocol = self.protocol_class(handler, self._config, self._h2_config)
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


class _CoalescingH2Protocol(H2Protocol):
    """grpclib's connection protocol, writing through a `_CoalescingTransport`."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if isinstance(transport, asyncio.WriteTransport):
            # Duck-typed: it forwards everything but the writes to the real transport.
            gathering = _CoalescingTransport(transport, asyncio.get_running_loop())
            transport = cast(asyncio.BaseTransport, gathering)
        super().connection_made(transport)


class _CoalescingTransport:
    """A transport whose writes are joined and handed to the real one when a request's
    handler ends (`_then_flush`), else at the next turn of the loop (`call_soon`: the
    connection's own frames): a unary response (headers, message, trailers) goes out in
    one system call. Everything else is the real transport's; closing first sends what is
    gathered."""

    def __init__(self, transport: asyncio.WriteTransport, loop: asyncio.AbstractEventLoop):
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not data:
            return
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(data)

    def writelines(self, chunks: list[bytes]) -> None:
        for chunk in chunks:
            self.write(chunk)

    def flush(self) -> None:
        if self._pending:
            data = b"".join(self._pending)
            self._pending.clear()
            self._transport.write(data)

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._pending.clear()
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


TrackingServer.protocol_class = _CoalescingH2Protocol


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
        self.__gc_step__()
        if _deadline_passed(headers):
            self._tasks[stream] = self.loop.create_task(_deadline_exceeded(stream, release_stream))
            return

        def handling() -> Coroutine[Any, Any, None]:
            return request_handler(
                self.mapping,
                stream,
                headers,
                self.codec,
                self.status_details_codec,
                self.dispatch,
                release_stream,
            )

        self._tasks[stream] = self.loop.create_task(_then_flush(handling, stream))


async def _then_flush(handling: Callable[[], Coroutine[Any, Any, None]], stream: H2Stream) -> None:
    """Handle the request, then send its whole response in one write: one per response,
    not one per turn of the loop (a connection lost mid-answer is then seen by asyncio
    call by call, as without the gathering).

    The handler's coroutine is made here, not by `accept`: a task cancelled before its
    first step (the server closing) never runs its body, and a coroutine made outside it
    would be left never awaited (a RuntimeWarning at shutdown)."""
    try:
        await handling()
    finally:
        transport = getattr(stream, "_transport", None)
        if isinstance(transport, _CoalescingTransport):
            transport.flush()


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
