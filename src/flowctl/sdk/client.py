"""The gRPC conversation with the control plane: register, then heartbeat with metrics."""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from grpclib.client import Channel
from grpclib.const import Status
from grpclib.exceptions import GRPCError, ProtocolError, StreamTerminatedError

from flowctl._proto import flowctl as pb
from flowctl.durations import format_duration
from flowctl.errors import ControlPlaneUnavailable, FlowctlError
from flowctl.sdk.settings import ComponentSettings

log = logging.getLogger("flowctl.sdk")

MetricsSource = Callable[[], Mapping[str, float]]

# Failures that mean "nobody (healthy) is listening yet": worth another try.
_TRANSPORT_ERRORS = (OSError, TimeoutError, StreamTerminatedError, ProtocolError)
_RETRYABLE_STATUSES = {Status.UNAVAILABLE, Status.DEADLINE_EXCEEDED, Status.RESOURCE_EXHAUSTED}
_FIRST_RETRY_DELAY = 0.1
_MAX_RETRY_DELAY = 2.0


class RegistrationRejected(FlowctlError):
    """The control plane answered the registration with an error that retrying cannot fix."""

    def __init__(self, endpoint: str, detail: str) -> None:
        self.endpoint = endpoint
        super().__init__(f"the control plane at {endpoint} rejected the registration: {detail}")


def service_type_from(value: pb.ServiceType | str) -> pb.ServiceType:
    """`pb.ServiceType.SOURCE`, "source", "SOURCE" and "SERVICE_TYPE_SOURCE" are all SOURCE."""
    if isinstance(value, pb.ServiceType):
        return value
    name = value.strip().upper().removeprefix("SERVICE_TYPE_")
    try:
        return pb.ServiceType[name]
    except KeyError:
        choices = ", ".join(t.name.lower() for t in pb.ServiceType if t.value)
        raise ValueError(f"unknown service type {value!r} (choose one of {choices})") from None


@dataclass(frozen=True)
class ServiceDescription:
    """What a component tells the control plane about itself when it registers."""

    service_type: pb.ServiceType | str
    input_event_types: Sequence[str] = ()
    output_event_types: Sequence[str] = ()
    health_endpoint: str = ""
    max_inflight: int = 0
    metadata: Mapping[str, str] = field(default_factory=dict)


class ControlPlaneClient:
    """Registers one component and sends its heartbeats.

    Use as `async with ControlPlaneClient(settings, description) as client:` inside a running
    asyncio loop; leaving the block closes the connection.
    """

    def __init__(
        self,
        settings: ComponentSettings,
        service: ServiceDescription,
        *,
        call_timeout: float = 5.0,
    ) -> None:
        self.settings = settings
        self.service = service
        self.call_timeout = call_timeout
        self.ack: pb.RegistrationAck | None = None
        self._service_id = ""
        self._channel: Channel | None = None
        self._stub: pb.ControlPlaneStub | None = None
        self._heartbeats_failing = False

    @property
    def service_id(self) -> str:
        """The id the control plane knows us by ("" before registration)."""
        return self._service_id

    async def __aenter__(self) -> ControlPlaneClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self._channel is not None:
            self._channel.close()
        self._channel = self._stub = None

    def service_info(self) -> pb.ServiceInfo:
        """The Register request: FLOWCTL_SERVICE_ID as service_id, and FLOWCTL_COMPONENT_ID in
        metadata["component_id"] so flowctl can attach us even if it assigns another id."""
        metadata = dict(self.service.metadata)
        if self.settings.component_id:
            metadata["component_id"] = self.settings.component_id
        return pb.ServiceInfo(
            service_id=self.settings.service_id,
            service_type=service_type_from(self.service.service_type),
            input_event_types=list(self.service.input_event_types),
            output_event_types=list(self.service.output_event_types),
            health_endpoint=self.service.health_endpoint,
            max_inflight=self.service.max_inflight,
            metadata=metadata,
        )

    async def register(self) -> pb.RegistrationAck:
        """Register, retrying with a short backoff while the control plane is not reachable.

        Gives up after `settings.registration_timeout` seconds with ControlPlaneUnavailable;
        raises RegistrationRejected at once when the control plane answers with an error.

        An attempt that reached the control plane waits for its answer as long as the
        registration may take, not `call_timeout`: a control plane busy starting a hundred
        components answers late, and asking again would only register twice and add to its
        load. A retry (after a refused or broken connection) sends the very same request,
        so with a service_id it replaces the first registration if that one went through.
        """
        loop = asyncio.get_running_loop()
        endpoint = self.settings.endpoint
        info = self.service_info()
        give_up_at = loop.time() + self.settings.registration_timeout
        delay = _FIRST_RETRY_DELAY
        attempt = 0
        while True:
            attempt += 1
            remaining = give_up_at - loop.time()
            try:
                async with asyncio.timeout(max(0.1, remaining)):
                    ack = await self._control_plane().register(info)
            except (GRPCError, *_TRANSPORT_ERRORS) as error:
                if isinstance(error, GRPCError) and error.status not in _RETRYABLE_STATUSES:
                    raise RegistrationRejected(endpoint, _describe(error)) from None
                remaining = give_up_at - loop.time()
                if remaining <= 0:
                    raise ControlPlaneUnavailable(
                        endpoint,
                        f"{_describe(error)} (gave up registering after {attempt} attempts "
                        f"in {format_duration(self.settings.registration_timeout)})",
                    ) from None
                wait = min(delay, remaining)
                log.warning(
                    "control plane at %s not reachable yet (%s); retrying registration in %s",
                    endpoint,
                    _describe(error),
                    format_duration(wait),
                )
                await asyncio.sleep(wait)
                delay = min(delay * 2, _MAX_RETRY_DELAY)
                continue
            self.ack = ack
            # An ack without an id would leave us unable to heartbeat: keep the one we asked for.
            self._service_id = ack.service_id or info.service_id
            log.info("registered with the control plane at %s as %r", endpoint, self._service_id)
            return ack

    async def send_heartbeat(self, metrics: Mapping[str, float]) -> None:
        """Send one heartbeat. When the control plane has forgotten us (it restarted), register
        again and resend. Transport and gRPC errors propagate to the caller."""
        try:
            await self._heartbeat_once(metrics)
        except GRPCError as error:
            if not _is_not_found(error):
                raise
            log.warning(
                "the control plane does not know %r (%s); registering again",
                self._service_id,
                error.message,
            )
            await self.register()
            await self._heartbeat_once(metrics)

    async def heartbeat_forever(self, metrics: MetricsSource | None = None) -> None:
        """Heartbeat at once, then every `settings.heartbeat_interval` until cancelled, with
        what `metrics()` returns at that moment. Failures are logged and the next beat tries
        again. The first beat is immediate so that `flowctl list` and the status view show
        the metrics right after registration, not one interval (10 s by default) later."""
        loop = asyncio.get_running_loop()
        interval = self.settings.heartbeat_interval
        next_beat = loop.time()
        while True:
            await asyncio.sleep(max(0.0, next_beat - loop.time()))
            # A fixed rate like Go's ticker; beats missed while one call hung are skipped.
            next_beat = max(next_beat + interval, loop.time())
            await self._beat(metrics)

    async def _beat(self, metrics: MetricsSource | None) -> None:
        try:
            values = _collect(metrics)
        except Exception:
            log.exception("the metrics callable failed; heartbeating without metrics")
            values = {}
        try:
            await self.send_heartbeat(values)
        except (GRPCError, FlowctlError, *_TRANSPORT_ERRORS) as error:
            # Say it once per outage, not on every beat.
            if not self._heartbeats_failing:
                log.warning("heartbeat to %s failed: %s", self.settings.endpoint, _describe(error))
            self._heartbeats_failing = True
            return
        if self._heartbeats_failing:
            log.info("heartbeats reach the control plane at %s again", self.settings.endpoint)
        self._heartbeats_failing = False

    async def _heartbeat_once(self, metrics: Mapping[str, float]) -> None:
        beat = pb.ServiceHeartbeat(
            service_id=self._service_id, timestamp=datetime.now(UTC), metrics=dict(metrics)
        )
        async with asyncio.timeout(self.call_timeout):
            await self._control_plane().heartbeat(beat)

    def _control_plane(self) -> pb.ControlPlaneStub:
        # Created on first use: grpclib binds the channel to the loop running at creation.
        if self._stub is None:
            self._channel = Channel(
                self.settings.host, self.settings.port, ssl=self.settings.ssl_context()
            )
            self._stub = pb.ControlPlaneStub(self._channel)
        return self._stub


def _collect(metrics: MetricsSource | None) -> dict[str, float]:
    if metrics is None:
        return {}
    return {str(key): float(value) for key, value in metrics().items()}


def _is_not_found(error: GRPCError) -> bool:
    # flowctl answers NOT_FOUND; the original Go server sent UNKNOWN "service X not found".
    if error.status is Status.NOT_FOUND:
        return True
    return error.status is Status.UNKNOWN and "not found" in (error.message or "").lower()


def _describe(error: BaseException) -> str:
    if isinstance(error, GRPCError):
        return f"{error.status.name}: {error.message}" if error.message else error.status.name
    if isinstance(error, TimeoutError):
        return "no answer in time"
    if isinstance(error, ssl.SSLCertVerificationError):
        return (
            f"its TLS certificate is not trusted ({error.verify_message}); "
            "FLOWCTL_TLS_CA_CERT names what to trust"
        )
    if isinstance(error, ssl.SSLError):
        return f"TLS failed ({(error.reason or str(error)).lower()})"
    if isinstance(error, OSError) and error.errno:
        return os.strerror(error.errno).lower()
    return str(error) or type(error).__name__
