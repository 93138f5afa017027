"""asyncio-native client helpers (no trio), for `flowctl list` and components.

From trio code call them through `trio_asyncio.aio_as_trio`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from betterproto.lib.google.protobuf import Empty
from grpclib import GRPCError
from grpclib.client import Channel
from grpclib.exceptions import StreamTerminatedError

from flowctl._proto import flowctl as pb
from flowctl._proto.flowctl import inspect as pb_inspect
from flowctl.errors import ControlPlaneUnavailable, UsageError

DEFAULT_PORT = 8080
_SCHEMES = ("http://", "https://", "grpc://", "dns:///")


def normalize_endpoint(endpoint: str) -> tuple[str, int]:
    """Split `host:port`, `http://host:port`, `[::1]:8080` or `host` (port 8080).

    Raises UsageError for something that is not an endpoint.
    """
    text = endpoint.strip()
    for scheme in _SCHEMES:
        if text.lower().startswith(scheme):
            text = text[len(scheme) :]
            break
    text = text.rstrip("/")
    if text.startswith("["):  # [IPv6]:port or [IPv6]
        host, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise UsageError(f"bad control plane endpoint {endpoint!r}: unclosed '['")
        port_text = rest[1:]
    elif text.count(":") > 1:  # a bare IPv6 address, no port
        host, port_text = text, ""
    else:
        host, _, port_text = text.partition(":")
    if not host:
        raise UsageError(f"bad control plane endpoint {endpoint!r}: no host")
    if not port_text:
        return host, DEFAULT_PORT
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise UsageError(f"bad control plane endpoint {endpoint!r}: port {port_text!r}")
    return host, int(port_text)


@asynccontextmanager
async def open_stub(endpoint: str) -> AsyncIterator[pb.ControlPlaneStub]:
    """A ControlPlane stub on a fresh channel, closed when the block ends."""
    host, port = normalize_endpoint(endpoint)
    channel = Channel(host, port)
    try:
        yield pb.ControlPlaneStub(channel)
    finally:
        channel.close()


async def fetch_services(endpoint: str, timeout: float = 5.0) -> pb.ServiceList:
    """ListServices on the control plane at `endpoint`.

    Raises ControlPlaneUnavailable when nothing answers in time or the call fails.
    """
    try:
        async with open_stub(endpoint) as stub:
            return await stub.list_services(Empty(), timeout=timeout)
    except GRPCError as error:
        detail = f"{error.status.name}: {error.message}" if error.message else error.status.name
        raise ControlPlaneUnavailable(endpoint, detail) from None
    except TimeoutError:  # asyncio.TimeoutError is the builtin since 3.11
        raise ControlPlaneUnavailable(endpoint, f"no answer within {timeout:g}s") from None
    except (OSError, StreamTerminatedError) as error:
        raise ControlPlaneUnavailable(endpoint, _describe_connection_error(error)) from None


def _describe_connection_error(error: Exception) -> str:
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__


async def fetch_attachments(
    endpoint: str, timeout: float = 5.0
) -> dict[str, pb_inspect.ServiceAttachment] | None:
    """Which component each service is attached to (flowctl.inspect), by service id.

    None when the server does not say: an older server or the original Go flowctl answers
    UNIMPLEMENTED; any other failure is treated alike, since the attachment only adds to
    what ListServices already told.
    """
    host, port = normalize_endpoint(endpoint)
    channel = Channel(host, port)
    try:
        reply = await pb_inspect.InspectStub(channel).list_attachments(Empty(), timeout=timeout)
    except (GRPCError, TimeoutError, OSError, StreamTerminatedError):
        return None
    finally:
        channel.close()
    return {attachment.service_id: attachment for attachment in reply.attachments}
