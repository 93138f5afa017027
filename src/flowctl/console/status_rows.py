"""One row per component or service, the same columns in the live view, the final table
after a failure, and `flowctl list`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from flowctl.console.figures import format_age, format_duration, telling_metrics
from flowctl.console.text_table import Column

if TYPE_CHECKING:  # only a type here; importing it would load trio into `flowctl list`
    from flowctl.console.component_status import ComponentStatus


@dataclass(frozen=True)
class StatusRow:
    id: str
    type: str
    state: str
    tone: str = "idle"  # ok, warn, bad, idle (see ComponentStatus.tone)
    pid: str = ""
    uptime: str = ""
    heartbeat: str = ""
    metrics: str = ""
    extra: Mapping[str, str] = field(default_factory=dict)  # for columns added by a command


ID = Column[StatusRow]("ID", lambda row: row.id)
TYPE = Column[StatusRow]("TYPE", lambda row: row.type)
STATE = Column[StatusRow]("STATE", lambda row: row.state)
PID = Column[StatusRow]("PID", lambda row: row.pid)
UPTIME = Column[StatusRow]("UPTIME", lambda row: row.uptime)
HEARTBEAT = Column[StatusRow]("HEARTBEAT", lambda row: row.heartbeat)
METRICS = Column[StatusRow]("METRICS", lambda row: row.metrics)

STATUS_COLUMNS = (ID, TYPE, STATE, PID, UPTIME, HEARTBEAT, METRICS)
# What a ServiceStatus can tell: no process, so no pid and no uptime.
SERVICE_COLUMNS = (ID, TYPE, STATE, HEARTBEAT, METRICS)


def component_row(status: ComponentStatus, now: float) -> StatusRow:
    uptime = ""
    if status.started_at is not None:
        uptime = format_duration((status.ended_at or now) - status.started_at)
    heartbeat = ""
    if status.registered and status.last_heartbeat_at is not None:
        heartbeat = format_age(now - status.last_heartbeat_at)
    return StatusRow(
        id=status.id,
        type=status.type,
        state=status.state,
        tone=status.tone,
        # A container shows its id in the 12-character form of `docker ps`.
        pid=status.container[:12] if status.container else str(status.pid or ""),
        uptime=uptime,
        heartbeat=heartbeat,
        metrics=telling_metrics(status.metrics),
    )


def service_row(
    service_id: str,
    service_type: str,
    healthy: bool,
    last_heartbeat: datetime | None,
    metrics: Mapping[str, float],
    now: datetime | None = None,
) -> StatusRow:
    """A row from what the control plane reports (a ServiceStatus's fields)."""
    age = None
    if last_heartbeat is not None and last_heartbeat.timestamp() > 0:
        age = ((now or datetime.now(UTC)) - last_heartbeat).total_seconds()
    return StatusRow(
        id=service_id,
        type=service_type,
        state="healthy" if healthy else "unhealthy",
        tone="ok" if healthy else "warn",
        heartbeat=format_age(age),
        metrics=telling_metrics(metrics),
    )
