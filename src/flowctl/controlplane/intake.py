"""Read one request from a grpclib stream within the limits, check it, then decode it.

grpclib reads a whole message, whatever its announced length, before a handler sees it,
and has no size limit. Here the 5-byte gRPC prefix is read first, so an oversized
message is refused before its body is read (HTTP/2 flow control then holds the sender
back); the body is checked by `wire_check` and only then decoded (by betterproto, or
by hand for the heartbeat: heartbeat_decoding.py).
"""

from __future__ import annotations

from collections.abc import Callable
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
T = TypeVar("T")

_PREFIX_BYTES = 5  # compressed flag, then the message length as a big-endian uint32


async def receive_decoded(
    stream: Stream[Any, object], decode: Callable[[bytes], T], schema: Schema, limits: Limits
) -> T:
    """The request read within `limits`, checked against `schema`, then `decode`d (any
    decoder: betterproto's, or a hand-written one for the hot path)."""
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
        return decode(data)
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
    """The request as a betterproto message; a refusal becomes the gRPC error the client
    is answered with."""
    return await receive_decoded_or_refuse(
        stream, lambda data: message_type().parse(data), schema, limits
    )


async def receive_decoded_or_refuse(
    stream: Stream[Any, Any], decode: Callable[[bytes], T], schema: Schema, limits: Limits
) -> T:
    """`receive_decoded`, a refusal becoming the gRPC error the client is answered with."""
    try:
        return await receive_decoded(stream, decode, schema, limits)
    except RequestRejected as rejected:
        logger.debug(f"request refused: {rejected.message}")
        raise GRPCError(rejected.status, rejected.message) from None
