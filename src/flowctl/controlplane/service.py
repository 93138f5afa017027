"""The grpclib service: maps the proto to the registry and back.

The generated base hands handlers only the request message; Register also needs the
peer's address (for attachment by process), so this class supplies its own
`__mapping__` whose handlers receive the grpclib stream.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, cast

import grpclib.const
from betterproto.lib.google.protobuf import Empty
from grpclib import GRPCError
from grpclib.const import Status
from loguru import logger

from flowctl._proto import flowctl as pb
from flowctl.errors import FlowctlError

from . import wire_check
from .attachment import PeerInfo
from .heartbeat_decoding import decode_heartbeat
from .intake import MessageT, receive_decoded_or_refuse, receive_or_refuse
from .limits import DEFAULT_LIMITS, Limits
from .registry import RegistryFull, ServiceNotFound, ServiceRegistry, topic_names
from .status_encoding import EncodedListCache, encode_in_batches, encode_status
from .wire_check import Schema

if TYPE_CHECKING:
    from grpclib.server import Stream

ENDPOINT_KEY = "control_plane_endpoint"


class ControlPlaneService(pb.ControlPlaneBase):
    def __init__(
        self, registry: ServiceRegistry, endpoint: str = "", limits: Limits = DEFAULT_LIMITS
    ) -> None:
        self.registry = registry
        # Set once the server is bound: the ack reports the real host:port.
        self.endpoint = endpoint
        self.limits = limits
        self._service_list = EncodedListCache(encode_status)

    # -- the four RPCs, callable without a stream as well ------------------------------

    async def register(
        self, service_info: pb.ServiceInfo, peer: PeerInfo | None = None
    ) -> pb.RegistrationAck:
        with _registry_errors_as_grpc_errors():
            record = self.registry.register(service_info, peer)
        return pb.RegistrationAck(
            service_id=record.service_id,
            topic_names=topic_names(service_info),
            connection_info={ENDPOINT_KEY: self.endpoint},
        )

    async def heartbeat(self, service_heartbeat: pb.ServiceHeartbeat) -> Empty:
        with _registry_errors_as_grpc_errors():
            self.registry.heartbeat(service_heartbeat.service_id, service_heartbeat.metrics)
        return Empty()

    async def get_service_status(self, service_info: pb.ServiceInfo) -> pb.ServiceStatus:
        with _registry_errors_as_grpc_errors():
            return self.registry.get(service_info.service_id).to_status()

    async def list_services(self, betterproto_lib_google_protobuf_empty: Empty) -> pb.ServiceList:
        return pb.ServiceList().parse(await self.encoded_service_list())

    async def encoded_service_list(self) -> bytes:
        """The ServiceList as protobuf bytes, re-encoding only records that changed."""
        return await encode_in_batches(self._service_list, self.registry.listed())

    # -- grpclib wiring: each request is read within the limits and checked first ------

    async def _rpc_register(self, stream: Stream[pb.ServiceInfo, pb.RegistrationAck]) -> None:
        request = await self._receive(stream, pb.ServiceInfo, wire_check.SERVICE_INFO)
        await stream.send_message(await self.register(request, _peer_of(stream)))

    async def _rpc_heartbeat(self, stream: Stream[pb.ServiceHeartbeat, Empty]) -> None:
        # The hot path (every component, every interval): decoded by hand, the registry
        # called directly, and the reply is Empty's encoding (no bytes), sent as it is.
        service_id, metrics = await receive_decoded_or_refuse(
            stream, decode_heartbeat, wire_check.SERVICE_HEARTBEAT, self.limits
        )
        try:
            self.registry.heartbeat(service_id, metrics)
        except _REGISTRY_ERRORS as error:
            raise _grpc_error(error) from None
        await stream.send_message(cast(Empty, _EMPTY_ENCODED))

    async def _rpc_get_service_status(
        self, stream: Stream[pb.ServiceInfo, pb.ServiceStatus]
    ) -> None:
        request = await self._receive(stream, pb.ServiceInfo, wire_check.SERVICE_INFO)
        await stream.send_message(await self.get_service_status(request))

    async def _rpc_list_services(self, stream: Stream[Empty, pb.ServiceList]) -> None:
        await self._receive(stream, Empty, wire_check.EMPTY)
        # Bytes, sent as they are by the server's PreEncodedProtoCodec.
        await stream.send_message(cast(pb.ServiceList, await self.encoded_service_list()))

    async def _receive(
        self, stream: Stream[MessageT, Any], message_type: type[MessageT], schema: Schema
    ) -> MessageT:
        return await receive_or_refuse(stream, message_type, schema, self.limits)

    def __mapping__(self) -> dict[str, grpclib.const.Handler]:
        unary = grpclib.const.Cardinality.UNARY_UNARY
        return {
            "/flowctl.ControlPlane/Register": grpclib.const.Handler(
                self._rpc_register, unary, pb.ServiceInfo, pb.RegistrationAck
            ),
            "/flowctl.ControlPlane/Heartbeat": grpclib.const.Handler(
                self._rpc_heartbeat, unary, pb.ServiceHeartbeat, Empty
            ),
            "/flowctl.ControlPlane/GetServiceStatus": grpclib.const.Handler(
                self._rpc_get_service_status, unary, pb.ServiceInfo, pb.ServiceStatus
            ),
            "/flowctl.ControlPlane/ListServices": grpclib.const.Handler(
                self._rpc_list_services, unary, Empty, pb.ServiceList
            ),
        }


# Empty's encoding: no bytes.
_EMPTY_ENCODED = b""

_REGISTRY_ERRORS = (ServiceNotFound, RegistryFull, FlowctlError)


@contextmanager
def _registry_errors_as_grpc_errors() -> Iterator[None]:
    """The registry's errors as the gRPC errors of `_grpc_error`."""
    try:
        yield
    except _REGISTRY_ERRORS as error:
        raise _grpc_error(error) from None


def _grpc_error(error: Exception) -> GRPCError:
    """A registry error as a gRPC status a client understands: an unknown id is NOT_FOUND;
    a full registry RESOURCE_EXHAUSTED; storage that cannot be written (a full disk under
    the standalone server's file) is UNAVAILABLE instead of a traceback."""
    if isinstance(error, ServiceNotFound):
        return GRPCError(Status.NOT_FOUND, str(error))
    if isinstance(error, RegistryFull):
        return GRPCError(Status.RESOURCE_EXHAUSTED, str(error))
    # The storage says it once while the failure lasts; a line per call would flood the
    # log at a careless client's heartbeat rate.
    logger.debug(f"registry: {error}")
    return GRPCError(Status.UNAVAILABLE, str(error))


def _peer_of(stream: Stream[pb.ServiceInfo, pb.RegistrationAck]) -> PeerInfo | None:
    address = stream.peer.addr()
    # IPv4 gives (host, port), IPv6 (host, port, flowinfo, scope_id); unix sockets a str.
    if not (isinstance(address, tuple) and len(address) >= 2):
        return None
    # grpclib's Peer exposes only the remote address; the server's end and a connection
    # identity come from the transport it wraps.
    transport = getattr(stream.peer, "_transport", None)
    server = connection = None
    if transport is not None:
        local = transport.get_extra_info("sockname")
        if isinstance(local, tuple) and len(local) >= 2:
            server = (str(local[0]), int(local[1]))
        connection = _socket_inode(transport.get_extra_info("socket"))
    return PeerInfo(str(address[0]), int(address[1]), server=server, connection=connection)


def _socket_inode(sock: object) -> int | None:
    """Socket inodes are unique among open sockets and not soon reused: a connection id."""
    fileno = getattr(sock, "fileno", None)
    if fileno is None:
        return None
    try:
        return os.fstat(fileno()).st_ino
    except (OSError, ValueError):
        return None
