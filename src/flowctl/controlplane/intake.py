"""Read one request from a grpclib stream within the limits, check it, then decode it.

grpclib reads a whole message, whatever its announced length, before a handler sees it,
and has no size limit. Here the 5-byte gRPC prefix is read first, so an oversized
message is refused before its body is read (HTTP/2 flow control then holds the sender
back); the body is checked by `wire_check` and only then decoded by betterproto.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

import betterproto
from grpclib import GRPCError
from grpclib.const import Status
from loguru import logger

from .limits import Limits
from .wire_check import RequestRejected, Schema, check_request

if TYPE_CHECKING:
    from grpclib.server import Stream

MessageT = TypeVar("MessageT", bound=betterproto.Message)

_PREFIX_BYTES = 5  # compressed flag, then the message length as a big-endian uint32


async def receive_request(
    stream: Stream[MessageT, object],
    message_type: type[MessageT],
    schema: Schema,
    limits: Limits,
) -> MessageT:
    """The request message, or RequestRejected with the status the client should get."""
    # grpclib's Stream has no public way to read the prefix alone: its h2 stream does.
    h2_stream = stream._stream
    try:
        prefix = await h2_stream.recv_data(_PREFIX_BYTES)
        if len(prefix) < _PREFIX_BYTES:
            raise RequestRejected(Status.INVALID_ARGUMENT, "the call carried no request message")
        if prefix[0]:
            raise RequestRejected(
                Status.UNIMPLEMENTED, "compressed messages are not accepted (grpc-encoding)"
            )
        length = int.from_bytes(prefix[1:], "big")
        if length > limits.max_message_bytes:
            raise RequestRejected(
                Status.RESOURCE_EXHAUSTED,
                f"request of {length} bytes is over the limit of {limits.max_message_bytes} bytes",
            )
        data = await h2_stream.recv_data(length)
    except AssertionError:  # grpclib's buffer: the stream ended inside the message
        raise RequestRejected(
            Status.INVALID_ARGUMENT, "the request ended inside its message"
        ) from None
    check_request(data, schema, limits)
    try:
        return message_type().parse(data)
    except Exception as error:  # what wire_check let through must still never crash a call
        raise RequestRejected(
            Status.INVALID_ARGUMENT, f"the request could not be decoded ({type(error).__name__})"
        ) from None


async def receive_or_refuse(
    stream: Stream[MessageT, Any],
    message_type: type[MessageT],
    schema: Schema,
    limits: Limits,
) -> MessageT:
    """`receive_request`, a refusal becoming the gRPC error the client is answered with."""
    try:
        return await receive_request(stream, message_type, schema, limits)
    except RequestRejected as rejected:
        logger.debug(f"request refused: {rejected.message}")
        raise GRPCError(rejected.status, rejected.message) from None
