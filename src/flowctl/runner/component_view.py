"""`run.components`: what each component of a run is doing, live, and waits on it.

The board is fed synchronously by the run's EventBus (a listener, not a subscriber), so
it is current the moment an event is published: when `wait_ready()` returns, every view
already shows its registration. Each view is a small frozen object, replaced on change.
Waiters hand in a condition that is checked on every change (every heartbeat), so a
metric value is seen even when the next heartbeat replaces it before the waiter runs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

import trio

from flowctl.events import (
    ComponentCompleted,
    ComponentExited,
    ComponentRestarting,
    ComponentStarted,
    ComponentStopping,
    Event,
    HealthChanged,
    HeartbeatReceived,
    ServiceRegistered,
)
from flowctl.orchestrator import ExitStatus


class ComponentState(StrEnum):
    """Where a component of a run is in its life; `ComponentView.state`."""

    NOT_STARTED = "not started"  # waits for what it depends on to register
    WAITING_TO_REGISTER = "waiting to register"
    HEALTHY = "healthy"
    UNHEALTHY = "unhealthy"  # registered, but silent for longer than the heartbeat TTL
    STOPPING = "stopping"  # flowctl sent SIGTERM
    EXITED = "exited"  # see `ComponentView.exit_status`
    RESTARTING = "restarting"  # exited, started again after `ComponentView.restart.delay`
    COMPLETED = "completed"  # a job that exited 0


@dataclass(frozen=True)
class Registration:
    """The registration attached to a component: the service id it heartbeats with, and
    how it was attached (`by id`, `by metadata`, `by process`, `by declaration`)."""

    service_id: str
    attached_by: str


@dataclass(frozen=True)
class RestartWait:
    """A restart to come: the `attempt`-th of `max_restarts`, `delay` seconds after the exit
    (`restarting (2/5) in 4s`)."""

    attempt: int
    max_restarts: int
    delay: float
    exit_description: str  # how the process before it ended


@dataclass(frozen=True)
class ComponentView:
    """One component of a running pipeline, as `run.components[id]` shows it now.

    Frozen: a change replaces the view in `run.components`, so keep the mapping, not the
    view, to follow a component.
    """

    id: str
    role: str  # source, processor or sink
    state: ComponentState = ComponentState.NOT_STARTED
    pid: int | None = None  # of the main process, once started
    registration: Registration | None = None
    metrics: Mapping[str, float] = field(default_factory=dict)  # of the last heartbeat
    heartbeats: int = 0  # received since it registered
    stop_requested: bool = False  # flowctl asked it to stop
    exit_status: ExitStatus | None = None  # once its main process exited
    restarts: int = 0  # started again by its restart policy (since it last recovered)
    restart: RestartWait | None = None  # while it waits to be started again

    @property
    def healthy(self) -> bool:
        return self.state is ComponentState.HEALTHY


class _Waiter:
    """One pending wait: its condition, checked on every change, and how it ended."""

    def __init__(self, condition: Callable[[Mapping[str, ComponentView]], bool]) -> None:
        self.condition = condition
        self.done = trio.Event()
        self.error: BaseException | None = None

    def check(self, views: Mapping[str, ComponentView]) -> None:
        try:
            if self.condition(views):
                self.done.set()
        except Exception as error:  # a user's predicate: raised again in the waiting task
            self.error = error
            self.done.set()


class ComponentBoard:
    """Every component of one run, in declaration order, kept current from its events."""

    def __init__(self, components: Iterable[tuple[str, str]]) -> None:
        self._views = {cid: ComponentView(cid, role) for cid, role in components}
        self.views: Mapping[str, ComponentView] = MappingProxyType(self._views)
        self._service_to_component: dict[str, str] = {}
        self._waiters: set[_Waiter] = set()
        self._poked = trio.Event()  # set by poke(): waiters look at the run again

    def apply(self, event: Event) -> None:
        """Update the view an event is about, then check every waiter. Never raises."""
        match event:
            case ComponentStarted(component_id=cid, pid=pid) if cid in self._views:
                # An outside client may have registered for it already (by id).
                registered = True if self._views[cid].registration else None
                self._change(
                    cid,
                    pid=pid,
                    state=ComponentState.WAITING_TO_REGISTER,
                    healthy=registered,
                    restart=None,
                    exit_status=None,
                )
            case ComponentRestarting(component_id=cid) if cid in self._views:
                # Its registration was the exited process's: the next one must register.
                self._change(
                    cid,
                    state=ComponentState.RESTARTING,
                    registration=None,
                    restarts=event.attempt,
                    restart=RestartWait(
                        event.attempt, event.max_restarts, event.delay, event.exit_description
                    ),
                )
            case ComponentCompleted(component_id=cid) if cid in self._views:
                self._change(cid, state=ComponentState.COMPLETED)
            case ComponentStopping(component_id=cid) if cid in self._views:
                self._change(cid, stop_requested=True, state=ComponentState.STOPPING)
            case ComponentExited(component_id=cid) if cid in self._views:
                self._change(
                    cid,
                    exit_status=ExitStatus(event.returncode),
                    stop_requested=self._views[cid].stop_requested or event.expected,
                    state=ComponentState.EXITED,
                )
            case ServiceRegistered(service_id=sid, component_id=cid, attached_by=how) if (
                cid in self._views and how is not None
            ):
                self._service_to_component[sid] = cid
                self._change(cid, registration=Registration(sid, how), healthy=True)
            case HeartbeatReceived(service_id=sid, metrics=metrics):
                cid = self._service_to_component.get(sid)
                if cid is not None:
                    view = self._views[cid]
                    self._change(
                        cid, metrics=dict(metrics), heartbeats=view.heartbeats + 1, healthy=True
                    )
            case HealthChanged(component_id=cid, healthy=healthy) if cid in self._views:
                self._change(cid, healthy=healthy)

    def _change(self, cid: str, *, healthy: bool | None = None, **changes: object) -> None:
        view = self._views[cid]
        live = changes.get("state", view.state) in _LIVE_STATES
        if healthy is not None and live and changes.get("registration", view.registration):
            # In the one replace below (a heartbeat's change: kept to one copy).
            changes["state"] = ComponentState.HEALTHY if healthy else ComponentState.UNHEALTHY
        view = dataclasses.replace(view, **changes)  # type: ignore[arg-type]
        self._views[cid] = view
        self._check_waiters()

    def poke(self) -> None:
        """Wake every waiter to look at the run again (it is stopping, or failed)."""
        poked, self._poked = self._poked, trio.Event()
        poked.set()

    async def wait_until(
        self,
        condition: Callable[[Mapping[str, ComponentView]], bool],
        give_up: Callable[[], Awaitable[None]],
    ) -> None:
        """Return once `condition(views)` holds, checked now and on every change.

        `give_up()` is awaited now and whenever the board is poked; it raises (or waits
        to be cancelled) to end a wait that can no longer succeed.
        """
        waiter = _Waiter(condition)
        waiter.check(self.views)
        self._waiters.add(waiter)
        try:
            while not waiter.done.is_set():
                await give_up()
                poked = self._poked
                async with trio.open_nursery() as nursery:

                    async def until(event: trio.Event) -> None:
                        await event.wait()
                        nursery.cancel_scope.cancel()

                    nursery.start_soon(until, waiter.done)
                    nursery.start_soon(until, poked)
        finally:
            self._waiters.discard(waiter)
        if waiter.error is not None:
            raise waiter.error

    def _check_waiters(self) -> None:
        for waiter in list(self._waiters):
            if not waiter.done.is_set():
                waiter.check(self.views)


# States in which health news changes the state (not before registering, not once stopping).
_LIVE_STATES = (
    ComponentState.WAITING_TO_REGISTER,
    ComponentState.HEALTHY,
    ComponentState.UNHEALTHY,
)

# What `run.wait_healthy` accepts of a component: healthy, or a job that completed (it did
# its work; its registration, if it had one, is silent since, which is no failure).
_DONE_WAITING = (ComponentState.HEALTHY, ComponentState.COMPLETED)


def all_healthy(views: Mapping[str, ComponentView], wanted: Iterable[str]) -> bool:
    """Whether every component in `wanted` is healthy now, a completed job counting as such
    (only jobs complete)."""
    return all(views[cid].state in _DONE_WAITING for cid in wanted)
