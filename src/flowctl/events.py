"""Typed events and the bus that carries them.

The orchestrator and the control plane publish what happened; the registration barrier,
the console and the log writer subscribe. Publishing is synchronous and never blocks, so
it is safe from grpclib handlers (asyncio side of trio-asyncio) and from trio tasks alike.
Nothing polls: a consumer waits on its channel.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import trio


@dataclass(frozen=True)
class ControlPlaneListening:
    """The control plane is bound and serving, before any component starts."""

    endpoint: str  # host:port


@dataclass(frozen=True)
class ComponentStarted:
    component_id: str
    pid: int  # for a container: its main process as this machine sees it, 0 if unknown
    container_id: str = ""  # the container's id, "" for a process


@dataclass(frozen=True)
class ComponentStopping:
    """flowctl has asked the component to stop (SIGTERM sent to its group)."""

    component_id: str


@dataclass(frozen=True)
class ComponentExited:
    component_id: str
    returncode: int
    description: str  # "exited with status 3", "killed by SIGKILL"
    expected: bool  # True when flowctl asked it to stop


@dataclass(frozen=True)
class ComponentRestarting:
    """A component exited and its restart policy starts it again after `delay` seconds:
    restart `attempt` of `max_restarts` (shown `restarting (2/5) in 4s`)."""

    component_id: str
    attempt: int
    max_restarts: int
    delay: float
    exit_description: str  # how it ended, "exited with status 3"


@dataclass(frozen=True)
class ComponentCompleted:
    """A job (`job: true`) exited with status 0: it did what it is for."""

    component_id: str


@dataclass(frozen=True)
class ServiceRegistered:
    service_id: str
    service_type: str  # proto name, e.g. "SERVICE_TYPE_SOURCE", or the number if unnamed
    component_id: str | None  # the pipeline component it was attached to, if any
    attached_by: str | None  # "by id", "by metadata", "by process", "by declaration"
    # When attached to no component: why, e.g. "matches 2 components by declaration: a, b".
    unattached_reason: str | None = None


@dataclass(frozen=True)
class HeartbeatReceived:
    service_id: str
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class HealthChanged:
    service_id: str
    component_id: str | None
    healthy: bool
    silent_for: float  # seconds since the last heartbeat when the change was seen


Event = (
    ControlPlaneListening
    | ComponentStarted
    | ComponentStopping
    | ComponentExited
    | ComponentRestarting
    | ComponentCompleted
    | ServiceRegistered
    | HeartbeatReceived
    | HealthChanged
)


class EventBus:
    """Fan-out of events to any number of subscribers, each with its own unbounded queue.

    Events are few (lifecycle, registrations, heartbeats), so an unbounded queue per
    subscriber is safe; component log lines do not travel here.
    """

    def __init__(self) -> None:
        self._subscribers: list[_Subscriber] = []
        self._listeners: list[Callable[[Event], None]] = []

    def subscribe(
        self, *, heartbeats: Callable[[HeartbeatReceived], None] | None = None
    ) -> trio.MemoryReceiveChannel[Event]:
        """A channel of every event published from now on, in order.

        With `heartbeats`, a heartbeat is handed to `heartbeats(event)` inside `publish`
        instead, when the subscriber has already taken every earlier event from its channel
        (it waits on it, so it has also handled them: the order is the same). One wake-up of
        the subscriber's task less per heartbeat, the most frequent event by far; the
        function must be quick, never block and never raise. A heartbeat published while
        earlier events wait in the channel goes through the channel, after them.
        """
        send, receive = trio.open_memory_channel[Event](math.inf)
        self._subscribers.append(_Subscriber(send, heartbeats))
        return receive

    def listen(self, listener: Callable[[Event], None]) -> None:
        """Call `listener(event)` inside every `publish`, before any subscriber sees it.

        For state that must be current the moment an event is published (a run's live
        component view); the listener must be quick, never block and never raise.
        """
        self._listeners.append(listener)

    def publish(self, event: Event) -> None:
        for listener in self._listeners:
            listener(event)
        heartbeat = event if isinstance(event, HeartbeatReceived) else None
        for subscriber in list(self._subscribers):
            channel = subscriber.channel
            try:
                if heartbeat is not None and subscriber.heartbeats is not None:
                    queued = channel.statistics()
                    if queued.open_receive_channels == 0:
                        raise trio.BrokenResourceError
                    if queued.current_buffer_used == 0:
                        subscriber.heartbeats(heartbeat)
                        continue
                channel.send_nowait(event)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                self._subscribers.remove(subscriber)


@dataclass(frozen=True, eq=False)
class _Subscriber:
    channel: trio.MemorySendChannel[Event]
    heartbeats: Callable[[HeartbeatReceived], None] | None
