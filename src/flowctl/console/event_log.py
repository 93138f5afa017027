"""flowctl's own log lines for lifecycle events (started, registered, unhealthy, exited)."""

from __future__ import annotations

from flowctl.events import (
    ComponentExited,
    ComponentStarted,
    Event,
    HealthChanged,
    HeartbeatReceived,
    ServiceRegistered,
)


def describe_event(event: Event) -> str | None:
    """One line for a user, or None for events too frequent to log (heartbeats)."""
    match event:
        case ComponentStarted(component_id=cid, pid=pid):
            return f"started {cid} (pid {pid})"
        case ComponentExited(component_id=cid, description=text, expected=True):
            # Asked to stop, "was killed by SIGTERM" is just how npm and shells say "stopped".
            return f"{cid} stopped ({text})"
        case ComponentExited(component_id=cid, description=text):
            return f"{cid} {text} unexpectedly"
        case ServiceRegistered(service_id=sid, component_id=None, service_type=kind):
            return f"registered {sid} ({kind}), not part of this pipeline"
        case ServiceRegistered(service_id=sid, component_id=cid, attached_by=how):
            name = cid if sid == cid else f"{cid} as {sid}"
            return f"registered {name} ({how})"
        case HealthChanged(service_id=sid, healthy=False, silent_for=silent):
            return f"{sid} is unhealthy: no heartbeat for {silent:.1f}s"
        case HealthChanged(service_id=sid, healthy=True):
            return f"{sid} is healthy again"
        case HeartbeatReceived():
            return None
    return None
