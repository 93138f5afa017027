"""The status of each component, as the run's events move it along."""

from __future__ import annotations

import signal
from datetime import UTC, datetime, timedelta

from flowctl._proto import flowctl as pb
from flowctl.console.component_status import PipelineStatus
from flowctl.console.service_table import render_service_table
from flowctl.console.status_rows import SERVICE_COLUMNS, StatusRow, component_row
from flowctl.console.text_table import Column
from flowctl.events import (
    ComponentExited,
    ComponentStarted,
    ComponentStopping,
    HealthChanged,
    HeartbeatReceived,
    ServiceRegistered,
)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def states(status: PipelineStatus) -> dict[str, str]:
    return {cid: component.state for cid, component in status.components.items()}


def test_a_component_goes_through_every_state() -> None:
    clock = Clock()
    status = PipelineStatus([("src", "source"), ("sink", "sink")], clock)
    assert states(status) == {"src": "starting", "sink": "starting"}
    status.apply(ComponentStarted("src", 41))
    status.apply(ComponentStarted("sink", 42))
    assert states(status)["src"] == "waiting to register"
    status.apply(ServiceRegistered("src-7", "SERVICE_TYPE_SOURCE", "src", "by metadata"))
    status.apply(ServiceRegistered("sink", "SERVICE_TYPE_SINK", "sink", "by id"))
    assert states(status) == {"src": "healthy", "sink": "healthy"}
    assert status.summary() == "2/2 healthy"

    clock.now += 65
    status.apply(HeartbeatReceived("src-7", {"total_processed": 12, "uptime_ms": 5.0}))
    status.apply(HealthChanged("sink", "sink", healthy=False, silent_for=65))
    assert status.summary() == "1/2 healthy; sink unhealthy"
    row = component_row(status.components["src"], clock.now + 3)
    assert (row.pid, row.uptime, row.heartbeat) == ("41", "1m08s", "3s ago")
    assert row.metrics == "total_processed=12", "uptime is a column of its own"

    status.apply(ComponentStopping("sink"))
    assert states(status)["sink"] == "stopping"
    status.apply(ComponentExited("sink", -signal.SIGTERM, "was killed by SIGTERM", True))
    status.apply(ComponentExited("src", 3, "exited with status 3", False))
    assert states(status) == {"src": "exited 3", "sink": "stopped"}
    assert status.components["src"].tone == "bad"


def test_exits_say_how() -> None:
    status = PipelineStatus([("a", "source"), ("b", "sink"), ("c", "sink")], Clock())
    for cid in "abc":
        status.apply(ComponentStarted(cid, 1))
    status.apply(ComponentExited("a", -signal.SIGKILL, "was killed by SIGKILL", True))
    status.apply(ComponentExited("b", -signal.SIGSEGV, "was killed by SIGSEGV", False))
    status.apply(ComponentExited("c", 0, "exited normally", True))
    assert states(status) == {
        "a": "killed",
        "b": "killed by SIGSEGV",
        "c": "stopped (never registered)",
    }


def test_list_table_has_the_live_columns_and_takes_more() -> None:
    now = datetime.now(UTC)
    services = [
        pb.ServiceStatus(
            service_id="src",
            service_type=pb.ServiceType.SOURCE,
            is_healthy=False,
            last_heartbeat=now - timedelta(seconds=5),
            metrics={"error_count": 2, "success_count": 40},
        )
    ]
    extra = Column[StatusRow]("ATTACHED", lambda row: "yes")
    lines = render_service_table(services, (*SERVICE_COLUMNS, extra)).splitlines()
    assert lines[0].split() == ["ID", "TYPE", "STATE", "HEARTBEAT", "METRICS", "ATTACHED"]
    assert lines[1].split()[:3] == ["src", "source", "unhealthy"]
    assert "error_count=2" in lines[1] and lines[1].endswith("yes")
    assert render_service_table([]) == "no services registered"
