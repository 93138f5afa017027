"""What each component is doing, kept up to date from the run's events (nothing polls).

The live view, the periodic summary and the final table after a failure all read it.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from flowctl.console.state_words import restarting_words
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

Clock = Callable[[], float]


@dataclass
class ComponentStatus:
    id: str
    type: str  # source, processor, sink
    pid: int | None = None
    container: str = ""  # the container's id, for a component that runs as one
    started_at: float | None = None
    ended_at: float | None = None
    registered: bool = False
    healthy: bool = True
    stopping: bool = False
    returncode: int | None = None
    exit_expected: bool = False
    last_heartbeat_at: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    completed: bool = False  # a job that exited 0
    restart_attempt: int = 0  # while waiting to be started again: which restart, of how many
    restart_limit: int = 0
    restart_due: float | None = None  # clock time of the next start
    clock: Clock = time.monotonic

    @property
    def restarting(self) -> bool:
        return self.restart_due is not None and not self.stopping

    @property
    def exited(self) -> bool:
        return self.returncode is not None

    @property
    def state(self) -> str:
        """starting, waiting to register, healthy, unhealthy, stopping, stopped, exited N,
        killed, killed by SIGNAL, completed, restarting (2/5) in 4s."""
        if self.completed:
            return "completed"
        if self.restarting:
            return self._restart_state()
        if self.returncode is not None:
            return self._exit_state()
        if self.stopping:
            return "stopping"
        if self.pid is None:
            return "starting"
        if not self.registered:
            return "waiting to register"
        return "healthy" if self.healthy else "unhealthy"

    def _restart_state(self) -> str:
        assert self.restart_due is not None
        left = self.restart_due - self.clock()
        return restarting_words(self.restart_attempt, self.restart_limit, left)

    def _exit_state(self) -> str:
        code = self.returncode
        assert code is not None
        if code == -signal.SIGKILL:
            return "killed"
        if self.exit_expected:
            # Asked to stop: SIGTERM or status 0 are both just "stopped".
            return "stopped" if self.registered else "stopped (never registered)"
        if code >= 0:
            return f"exited {code}"
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"

    @property
    def tone(self) -> str:
        """ok, warn, bad or idle: how the state should catch the eye."""
        state = self.state
        if state in ("healthy", "completed"):
            return "ok"
        if state in ("unhealthy", "waiting to register", "stopping", "starting"):
            return "warn"
        if self.restarting:
            return "warn"
        if (self.exited and not self.exit_expected) or state == "killed":
            return "bad"
        return "idle"


class PipelineStatus:
    """Every component of a pipeline, in declaration order, updated by `apply(event)`."""

    def __init__(self, components: Iterable[tuple[str, str]], clock: Clock = time.monotonic):
        self._clock = clock
        self.components = {cid: ComponentStatus(cid, kind, clock=clock) for cid, kind in components}
        self._service_to_component: dict[str, str] = {}

    def now(self) -> float:
        return self._clock()

    def apply(self, event: Event) -> None:
        now = self._clock()
        match event:
            case ComponentStarted(component_id=cid, pid=pid, container_id=container) if (
                cid in self.components
            ):
                status = self.components[cid]
                if status.restart_due is not None:  # started again: a new process's life
                    status.restart_due, status.returncode, status.ended_at = None, None, None
                    status.registered, status.exit_expected = False, False
                    status.last_heartbeat_at = None
                status.pid, status.container, status.started_at = pid, container, now
            case ComponentRestarting(component_id=cid) if cid in self.components:
                status = self.components[cid]
                status.restart_attempt, status.restart_limit = event.attempt, event.max_restarts
                status.restart_due = now + event.delay
            case ComponentCompleted(component_id=cid) if cid in self.components:
                self.components[cid].completed = True
            case ComponentStopping(component_id=cid) if cid in self.components:
                self.components[cid].stopping = True
            case ComponentExited(component_id=cid) if cid in self.components:
                status = self.components[cid]
                status.returncode, status.exit_expected = event.returncode, event.expected
                status.ended_at = now
            case ServiceRegistered(service_id=sid, component_id=cid) if cid in self.components:
                self._service_to_component[sid] = cid
                status = self.components[cid]
                status.registered, status.healthy, status.last_heartbeat_at = True, True, now
            case HeartbeatReceived(service_id=sid, metrics=metrics):
                found = self.components.get(self._service_to_component.get(sid, ""))
                if found is not None:
                    found.last_heartbeat_at, found.metrics = now, dict(metrics)
                    found.healthy = True
            case HealthChanged(component_id=cid, healthy=healthy) if cid in self.components:
                self.components[cid].healthy = healthy

    def completed(self) -> set[str]:
        """The jobs that completed."""
        return {cid for cid, status in self.components.items() if status.completed}

    def healthy_count(self) -> int:
        return sum(1 for status in self.components.values() if status.state == "healthy")

    def headline(self) -> str:
        done = sum(1 for status in self.components.values() if status.completed)
        completed = f", {done} completed" if done else ""
        return f"{self.healthy_count()}/{len(self.components)} healthy{completed}"

    def summary(self) -> str:
        """One line: `3/3 healthy`, then whoever is not, and how."""
        others = [
            f"{s.id} {s.state}"
            for s in self.components.values()
            if s.state not in ("healthy", "completed")
        ]
        return f"{self.headline()}; {', '.join(others)}" if others else self.headline()
