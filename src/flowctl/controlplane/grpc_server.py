"""A grpclib Server that can report its bound address and close its client connections.

grpclib's `Server.close()` cancels in-flight calls but leaves idle client connections open
and still serving (and on Python 3.12+ `wait_closed()` then waits for them forever), and
it has no public accessor for the bound port. Both need its internals: the protocol
factory (to remember each connection) and the asyncio server (for its sockets).
"""

from __future__ import annotations

import weakref
from typing import Any

import h2.exceptions
from grpclib.protocol import H2Protocol
from grpclib.server import Server


class TrackingServer(Server):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Weak: a connection that went away on its own must not be kept alive here.
        self._protocols: weakref.WeakSet[H2Protocol] = weakref.WeakSet()

    def _protocol_factory(self) -> H2Protocol:
        protocol = super()._protocol_factory()
        self._protocols.add(protocol)
        return protocol

    def bound_port(self) -> int:
        """The port of the first listening socket (the real one when 0 was asked)."""
        assert self._server is not None, "server not started"
        # asyncio.Server has `sockets`; the AbstractServer it is typed as does not.
        return int(self._server.sockets[0].getsockname()[1])  # type: ignore[attr-defined]

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
