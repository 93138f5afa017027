"""The run's notes on registrations (restarting, waiting to register, completed): how the
run's events set them, how flowctl.inspect serves them (its cached list sees each change),
and how `flowctl list` words them, a server without them (an older flowctl) included."""

from __future__ import annotations

import asyncio
from collections.abc import Set
from datetime import UTC, datetime

from flowctl._proto import flowctl as pb
from flowctl._proto.flowctl import inspect as pb_inspect
from flowctl.cli.attachment_column import inspect_columns, run_state_label
from flowctl.console.service_table import render_service_table
from flowctl.console.status_rows import SERVICE_COLUMNS
from flowctl.controlplane.attachment import Attachment, NotAttached, PeerInfo
from flowctl.controlplane.inspect_service import InspectService
from flowctl.controlplane.registry import ServiceRegistry
from flowctl.events import ComponentCompleted, ComponentRestarting, ComponentStarted
from flowctl.runner.run_notes import RunNotes

NOW = datetime(2025, 5, 1, 12, 0, 0, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)


class ById:
    """Attaches a registration to the component its service id names (step 1 alone)."""

    def attach(
        self, info: pb.ServiceInfo, peer: PeerInfo | None, attached: Set[str]
    ) -> Attachment | NotAttached:
        if info.service_id in ("proc", "migrate"):
            return Attachment(info.service_id, "by id")
        return NotAttached("not a component")


def served(inspect: InspectService) -> dict[str, pb_inspect.ServiceAttachment]:
    answer = pb_inspect.AttachmentList().parse(asyncio.run(inspect.encoded_attachments()))
    return {attachment.service_id: attachment for attachment in answer.attachments}


def test_the_runs_events_become_notes_that_inspect_serves() -> None:
    registry = ServiceRegistry(attacher=ById(), clock=lambda: NOW)
    inspect = InspectService(registry)
    notes = RunNotes(registry, clock=lambda: NOW)
    registry.register(pb.ServiceInfo(service_id="proc", service_type=pb.ServiceType.PROCESSOR))
    registry.register(pb.ServiceInfo(service_id="migrate", service_type=pb.ServiceType.SOURCE))
    assert served(inspect)["proc"].run_state == ""  # cached now

    notes.apply(ComponentRestarting("proc", 2, 5, 4.0, "exited with status 3"))
    proc = served(inspect)["proc"]
    assert (proc.run_state, proc.restart_attempt, proc.max_restarts) == ("restarting", 2, 5)
    assert proc.next_start_unix_ms == NOW_MS + 4000
    assert run_state_label(proc, NOW_MS + 500) == "restarting (2/5) in 4s"

    # Started again: the registration listed is the exited process's until a new one.
    notes.apply(ComponentStarted("proc", 11))
    assert served(inspect)["proc"].run_state == "waiting to register"
    registry.register(pb.ServiceInfo(service_id="proc", service_type=pb.ServiceType.PROCESSOR))
    assert served(inspect)["proc"].run_state == ""
    # A new process whose registration came before its start was published keeps none.
    notes.apply(ComponentRestarting("proc", 1, 5, 1.0, "exited with status 3"))
    registry.register(pb.ServiceInfo(service_id="proc", service_type=pb.ServiceType.PROCESSOR))
    notes.apply(ComponentStarted("proc", 12))
    assert served(inspect)["proc"].run_state == ""

    notes.apply(ComponentCompleted("migrate"))
    registry.mark_silent_unhealthy()  # no-op here; the note survives health changes
    registry.heartbeat("migrate", {})
    assert served(inspect)["migrate"].run_state == "completed"
    assert served(inspect)["proc"].run_state == ""


def test_list_words_the_run_state_in_the_state_column() -> None:
    services = [
        pb.ServiceStatus(service_id=sid, service_type=pb.ServiceType.SOURCE, is_healthy=healthy)
        for sid, healthy in (("proc", True), ("migrate", False), ("src", True))
    ]
    attachments = {
        "proc": pb_inspect.ServiceAttachment(
            service_id="proc",
            run_state="restarting",
            restart_attempt=2,
            max_restarts=5,
            next_start_unix_ms=NOW_MS + 3200,
        ),
        "migrate": pb_inspect.ServiceAttachment(service_id="migrate", run_state="completed"),
        "src": pb_inspect.ServiceAttachment(service_id="src", component_id="src"),
    }
    table = render_service_table(services, inspect_columns(SERVICE_COLUMNS, attachments, NOW_MS))
    states = {line.split()[0]: line for line in table.splitlines()[1:]}
    assert "restarting (2/5) in 4s" in states["proc"]
    assert " completed " in states["migrate"] and "unhealthy" not in states["migrate"]
    assert " healthy " in states["src"]
    # Due already (the start is under way): no negative countdown.
    late = run_state_label(attachments["proc"], NOW_MS + 10_000)
    assert late == "restarting (2/5) in 0s"
    # A word from a newer server is shown as it is.
    newer = pb_inspect.ServiceAttachment(service_id="x", run_state="paused")
    assert run_state_label(newer, NOW_MS) == "paused"


def test_a_server_without_run_states_leaves_health_in_the_state_column() -> None:
    """An older flowctl serves ServiceAttachment's first four fields only: these bytes."""
    old = b"\x0a\x04proc" + b"\x12\x04proc" + b"\x1a\x05by id"  # fields 1, 2 and 3
    (parsed,) = pb_inspect.AttachmentList().parse(b"\x0a" + bytes([len(old)]) + old).attachments
    assert (parsed.component_id, parsed.attached_by) == ("proc", "by id")
    assert run_state_label(parsed, NOW_MS) is None
    service = pb.ServiceStatus(service_id="proc", is_healthy=False)
    table = render_service_table([service], inspect_columns(SERVICE_COLUMNS, {"proc": parsed}))
    assert table.splitlines()[1].split()[:3] == ["proc", "unspecified", "unhealthy"]
    assert table.splitlines()[1].endswith("by id")
