"""asyncio-native client helpers (no trio), for `flowctl list` and components.

From trio code call them through `trio_asyncio.aio_as_trio`.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from betterproto.lib.google.protobuf import Empty
from grpclib import GRPCError, Status
from grpclib.client import Channel
from grpclib.exceptions import ProtocolError, StreamTerminatedError

from flowctl._proto import flowctl as pb
from flowctl._proto.flowctl import inspect as pb_inspect
from flowctl.errors import ControlPlaneUnavailable, FlowctlError

from .endpoints import DEFAULT_PORT, endpoint_wants_tls, normalize_endpoint
from .tls_diagnosis import explain_failure

__all__ = [
    "DEFAULT_PORT",
    "InspectFailed",
    "TlsMismatch",
    "endpoint_wants_tls",
    "fetch_attachments",
    "fetch_services",
    "normalize_endpoint",
    "open_stub",
]


class TlsMismatch(FlowctlError):
    """The control plane and its client do not agree on TLS; the message says how."""


class InspectFailed(Exception):
    """flowctl.inspect did not answer, though the server may have it; str() says how."""


@asynccontextmanager
async def open_stub(
    endpoint: str, tls: ssl.SSLContext | None = None
) -> AsyncIterator[pb.ControlPlaneStub]:
    """A ControlPlane stub on a fresh channel (TLS with `tls`), closed when the block ends."""
    host, port = normalize_endpoint(endpoint)
    channel = Channel(host, port, ssl=tls)
    try:
        yield pb.ControlPlaneStub(channel)
    finally:
        channel.close()


async def fetch_services(
    endpoint: str,
    timeout: float = 5.0,
    tls: ssl.SSLContext | None = None,
    *,
    with_client_cert: bool = False,
) -> pb.ServiceList:
    """ListServices on the control plane at `endpoint` (over TLS with `tls`).

    Raises ControlPlaneUnavailable when nothing answers in time or the call fails, and
    TlsMismatch when the server speaks TLS and the client not (or the reverse), does not
    trust the server's certificate, or the server refused the client's
    (`with_client_cert`: `tls` shows one).
    """
    try:
        async with open_stub(endpoint, tls) as stub:
            return await stub.list_services(Empty(), timeout=timeout)
    except GRPCError as error:
        detail = f"{error.status.name}: {error.message}" if error.message else error.status.name
        raise ControlPlaneUnavailable(endpoint, detail) from None
    except TimeoutError:  # asyncio.TimeoutError is the builtin since 3.11
        raise ControlPlaneUnavailable(endpoint, f"no answer within {timeout:g}s") from None
    except (OSError, StreamTerminatedError, ProtocolError) as error:
        host, port = normalize_endpoint(endpoint)
        explained = await explain_failure(
            host, port, _shown(endpoint), tls, error, with_client_cert=with_client_cert
        )
        if explained is not None:
            raise TlsMismatch(explained) from None
        raise ControlPlaneUnavailable(endpoint, _describe_connection_error(error)) from None


def _shown(endpoint: str) -> str:
    """The endpoint without its scheme, as messages show it."""
    host, port = normalize_endpoint(endpoint)
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _describe_connection_error(error: Exception) -> str:
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__


async def fetch_attachments(
    endpoint: str, timeout: float = 5.0, tls: ssl.SSLContext | None = None
) -> dict[str, pb_inspect.ServiceAttachment] | None:
    """Which component each service is attached to (flowctl.inspect), by service id.

    None when the server has no such service (an older server or the original Go flowctl
    answers UNIMPLEMENTED). InspectFailed for any other failure (no answer in `timeout`,
    a lost connection, another status): the caller says so rather than leave it unsaid.
    """
    host, port = normalize_endpoint(endpoint)
    channel = Channel(host, port, ssl=tls)
    try:
        reply = await pb_inspect.InspectStub(channel).list_attachments(Empty(), timeout=timeout)
    except GRPCError as error:
        if error.status is Status.UNIMPLEMENTED:
            return None
        raise InspectFailed(f"the server answered {error.status.name}") from None
    except TimeoutError:
        raise InspectFailed(f"no answer within {timeout:g}s") from None
    except (OSError, StreamTerminatedError) as error:
        raise InspectFailed(f"the connection failed ({error})") from None
    finally:
        channel.close()
    return {attachment.service_id: attachment for attachment in reply.attachments}
