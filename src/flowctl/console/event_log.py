"""flowctl's own log lines for lifecycle events: started, registered, unhealthy, exited."""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from flowctl.console.figures import telling_metrics
from flowctl.durations import format_duration
from flowctl.events import (
    ComponentCompleted,
    ComponentExited,
    ComponentRestarting,
    ComponentStarted,
    ComponentStopping,
    ControlPlaneListening,
    Event,
    HealthChanged,
    HeartbeatReceived,
    ServiceRegistered,
)


@dataclass(frozen=True)
class EventLine:
    level: str  # a loguru level name
    text: str
    component: str | None  # the component concerned (the `component` field in JSON)


def describe_event(
    event: Event,
    in_pipeline: bool = True,
    jobs: AbstractSet[str] = frozenset(),
    completed: AbstractSet[str] = frozenset(),
) -> EventLine | None:
    """One line for a user, or None for an event not worth a line. `in_pipeline`: False for
    a control plane that runs no pipeline (`flowctl server`), where no registration is a
    stranger. `jobs`: components meant to finish, whose exit 0 is said as `completed`.
    `completed`: the jobs that did; their registrations going silent is no warning."""
    match event:
        case ControlPlaneListening(endpoint=endpoint):
            return EventLine("INFO", f"control plane listening on {endpoint}", None)
        case ComponentStarted(component_id=cid, container_id=container) if container:
            # The 12-character id `docker ps` shows.
            return EventLine("INFO", f"started {cid} (container {container[:12]})", cid)
        case ComponentStarted(component_id=cid, pid=pid):
            return EventLine("INFO", f"started {cid} (pid {pid})", cid)
        case ComponentStopping(component_id=cid):
            return EventLine("INFO", f"stopping {cid}", cid)
        case ComponentExited(component_id=cid, description=text, expected=True):
            # Asked to stop, "was killed by SIGTERM" is just how npm and shells say "stopped".
            return EventLine("INFO", f"{cid} stopped ({text})", cid)
        case ComponentExited(component_id=cid, returncode=0) if cid in jobs:
            return None  # the runner's ComponentCompleted says it
        case ComponentExited(component_id=cid, description=text):
            return EventLine("ERROR", f"{cid} {text} unexpectedly", cid)
        case ComponentRestarting(component_id=cid, attempt=n, max_restarts=limit, delay=delay):
            return EventLine(
                "WARNING", f"{cid}: restarting ({n}/{limit}) in {format_duration(delay)}", cid
            )
        case ComponentCompleted(component_id=cid):
            return EventLine("INFO", f"{cid} completed", cid)
        case ServiceRegistered(service_id=sid, component_id=None, service_type=kind) if (
            not in_pipeline
        ):
            return EventLine("INFO", f"registered {sid} ({kind})", None)
        case ServiceRegistered(
            service_id=sid, component_id=None, service_type=kind, unattached_reason=why
        ):
            text = f"registered {sid} ({kind}), not part of this pipeline"
            if why:
                text += f": {why}"
            return EventLine("WARNING", text, None)
        case ServiceRegistered(service_id=sid, component_id=cid, attached_by=how):
            name = cid if sid == cid else f"{cid} as {sid}"
            return EventLine("INFO", f"registered {name} ({how})", cid)
        case HealthChanged(service_id=sid, component_id=cid, healthy=False) if cid in completed:
            # It finished, so its heartbeats stopped: expected, said at debug level only.
            return EventLine("DEBUG", f"{sid} is silent: {cid} completed", cid)
        case HealthChanged(service_id=sid, component_id=cid, healthy=False, silent_for=silent):
            return EventLine("WARNING", f"{sid} is unhealthy: no heartbeat for {silent:.1f}s", cid)
        case HealthChanged(service_id=sid, component_id=cid, healthy=True, silent_for=silent):
            return EventLine("INFO", f"{sid} is healthy again after {silent:.1f}s of silence", cid)
        case HeartbeatReceived(service_id=sid, metrics=metrics):
            # Frequent: shown with --log-level debug only.
            return EventLine("DEBUG", f"heartbeat from {sid} {telling_metrics(metrics)}", None)
    return None
