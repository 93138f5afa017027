"""What each component is doing, kept up to date from the run's events (nothing polls).

The live view, the periodic summary and the final table after a failure all read it.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from flowctl.events import (
    ComponentExited,
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
    started_at: float | None = None
    ended_at: float | None = None
    registered: bool = False
    healthy: bool = True
    stopping: bool = False
    returncode: int | None = None
    exit_expected: bool = False
    last_heartbeat_at: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def exited(self) -> bool:
        return self.returncode is not None

    @property
    def state(self) -> str:
        """starting, waiting to register, healthy, unhealthy, stopping, stopped, exited N,
        killed, killed by SIGNAL."""
        if self.returncode is not None:
            return self._exit_state()
        if self.stopping:
            return "stopping"
        if self.pid is None:
            return "starting"
        if not self.registered:
            return "waiting to register"
        return "healthy" if self.healthy else "unhealthy"

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
        if state == "healthy":
            return "ok"
        if state in ("unhealthy", "waiting to register", "stopping", "starting"):
            return "warn"
        if (self.exited and not self.exit_expected) or state == "killed":
            return "bad"
        return "idle"


class PipelineStatus:
    """Every component of a pipeline, in declaration order, updated by `apply(event)`."""

    def __init__(self, components: Iterable[tuple[str, str]], clock: Clock = time.monotonic):
        self._clock = clock
        self.components = {cid: ComponentStatus(cid, kind) for cid, kind in components}
        self._service_to_component: dict[str, str] = {}

    def now(self) -> float:
        return self._clock()

    def apply(self, event: Event) -> None:
        now = self._clock()
        match event:
            case ComponentStarted(component_id=cid, pid=pid) if cid in self.components:
                status = self.components[cid]
                status.pid, status.started_at = pid, now
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

    def healthy_count(self) -> int:
        return sum(1 for status in self.components.values() if status.state == "healthy")

    def headline(self) -> str:
        return f"{self.healthy_count()}/{len(self.components)} healthy"

    def summary(self) -> str:
        """One line: `3/3 healthy`, then whoever is not, and how."""
        others = [f"{s.id} {s.state}" for s in self.components.values() if s.state != "healthy"]
        return f"{self.headline()}; {', '.join(others)}" if others else self.headline()
