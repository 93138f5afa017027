"""The control plane served inside a trio program: grpclib on trio through trio-asyncio."""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import socket
import ssl
from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

import trio
import trio_asyncio
from loguru import logger
from trio_asyncio import aio_as_trio

from flowctl.errors import PortInUse, RegistrationTimeout
from flowctl.events import ControlPlaneListening, EventBus
from flowctl.exception_groups import lone_exceptions_unwrapped

from .asyncio_bridge import drain_queued_callbacks
from .attachment import Attacher
from .grpc_server import TrackingServer
from .health import health_service
from .inspect_service import InspectService
from .limits import DEFAULT_LIMITS, Limits
from .loop_errors import connection_errors_logged
from .records import ServiceRecord
from .registry import ServiceRegistry
from .service import ControlPlaneService
from .storage import Storage
from .tls import ServerTls

# Upper bound for in-flight handlers to finish once cancelled; they never block, so this
# only guards against a stuck shutdown.
_SHUTDOWN_GRACE = 5.0


@dataclass(frozen=True)
class EmbeddedControlPlane:
    """A control plane serving inside the caller's trio program, from `open_control_plane`.

    `registry` holds what components registered (their records, health and metrics).
    """

    host: str
    port: int  # the real bound port, also when 0 was asked
    registry: ServiceRegistry
    tls: bool = False  # serves TLS only (a plain-text client is refused)

    @property
    def endpoint(self) -> str:
        """`host:port` as gRPC clients dial it (IPv6 hosts in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    async def list_services(self) -> list[ServiceRecord]:
        """Every registration, in registration order (what ListServices answers)."""
        return self.registry.list()

    async def wait_registered(self, ids: Collection[str], timeout: float) -> None:
        """Return once every id has registered; RegistrationTimeout after `timeout` s."""
        wanted = list(ids)
        with trio.move_on_after(timeout):
            await self.registry.wait_for(wanted)
            return
        raise RegistrationTimeout(
            timeout,
            missing=self.registry.missing(wanted),
            unattached=[record.describe() for record in self.registry.unattached(wanted)],
        )


@asynccontextmanager
async def open_control_plane(
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    heartbeat_ttl: float = 30.0,
    janitor_interval: float = 10.0,
    attacher: Attacher | None = None,
    events: EventBus | None = None,
    storage: Storage | None = None,
    limits: Limits = DEFAULT_LIMITS,
    tls: ServerTls | None = None,
    component_order: Sequence[str] = (),
) -> AsyncIterator[EmbeddedControlPlane]:
    """Serve the control plane for the duration of the block (with its janitor).

    With `tls`, only TLS is served (with `tls.client_ca_file`, mutual TLS). Raises
    TlsFileError for a TLS file that cannot be used, before anything is bound, and
    PortInUse when the address cannot be bound. Leaving the block closes every client
    connection and cancels in-flight calls.
    """
    ssl_context = tls.context() if tls is not None else None
    with lone_exceptions_unwrapped():
        async with _asyncio_loop() as loop:
            registry = ServiceRegistry(
                heartbeat_ttl=heartbeat_ttl,
                attacher=attacher,
                events=events,
                storage=storage,
                max_services=limits.max_services,
                component_order=component_order,
            )
            service = ControlPlaneService(registry, limits=limits)
            # Inspect: flowctl's own questions (attachment), kept out of the wire contract.
            inspect = InspectService(registry, limits=limits)
            server = TrackingServer([service, inspect, health_service([service, inspect])])
            with connection_errors_logged(loop):
                async with _serving(server, host, port, registry, ssl_context) as control_plane:
                    service.endpoint = control_plane.endpoint
                    if events is not None:  # on the bus, so it comes before any start
                        events.publish(ControlPlaneListening(control_plane.endpoint))
                    async with trio.open_nursery() as nursery:
                        nursery.start_soon(registry.run_janitor, janitor_interval)
                        yield control_plane
                        nursery.cancel_scope.cancel()


@asynccontextmanager
async def _serving(
    server: TrackingServer,
    host: str,
    port: int,
    registry: ServiceRegistry,
    ssl_context: ssl.SSLContext | None,
) -> AsyncIterator[EmbeddedControlPlane]:
    await _start(server, host, port, ssl_context)
    try:
        if ssl_context is None and not _loopback_only(server):
            logger.warning(
                f"the control plane listens on {host} without TLS: anyone who can reach "
                "this address can register, heartbeat and list services, in clear text "
                "(--tls-cert and --tls-key serve TLS)"
            )
        yield EmbeddedControlPlane(host, server.bound_port(), registry, ssl_context is not None)
    finally:
        await _stop(server)


@asynccontextmanager
async def _asyncio_loop() -> AsyncIterator[asyncio.AbstractEventLoop]:
    """Use the caller's trio-asyncio loop, or open one for the block."""
    loop = trio_asyncio.current_loop.get()
    if loop is not None and not loop.is_closed():
        yield loop
    else:
        async with trio_asyncio.open_loop() as opened:
            drain_queued_callbacks(opened)
            yield opened


def _loopback_only(server: TrackingServer) -> bool:
    """Every listening socket is on a loopback address (127.0.0.0/8, ::1)."""
    for address in server.bound_addresses():
        try:
            if not ipaddress.ip_address(address.split("%")[0]).is_loopback:
                return False
        except ValueError:
            return False
    return True


async def _start(
    server: TrackingServer, host: str, port: int, ssl_context: ssl.SSLContext | None
) -> None:
    try:
        await aio_as_trio(server.start)(host, port, ssl=ssl_context)
    except OSError as error:
        raise PortInUse(host, port, _why_unbindable(error, host)) from None


def _why_unbindable(error: OSError, host: str) -> str:
    if isinstance(error, socket.gaierror):
        return f"cannot resolve host {host!r} ({error.strerror})"
    if error.errno == errno.EADDRINUSE:
        return "address already in use"
    if error.errno == errno.EADDRNOTAVAIL:
        return f"address {host!r} is not available on this machine"
    return error.strerror or str(error)


async def _stop(server: TrackingServer) -> None:
    server.close()  # stop listening, cancel in-flight calls
    server.close_connections()  # idle connections would otherwise keep serving
    with trio.CancelScope(shield=True):
        with trio.move_on_after(_SHUTDOWN_GRACE):
            await aio_as_trio(server.wait_closed)()
