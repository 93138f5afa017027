"""The control plane with the pipeline's attacher, over real gRPC: the barrier's timeout
message, the peer each registration records, and the flowctl.inspect service."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio
from attach_helpers import anonymous_pipeline, call, older_control_plane, processor_info
from trio_asyncio import aio_as_trio

from flowctl._proto import flowctl as pb
from flowctl.controlplane import fetch_attachments, open_control_plane
from flowctl.errors import RegistrationTimeout
from flowctl.pipeline import load_pipeline
from flowctl.process_identity import CannotTell
from flowctl.runner.attach import PipelineAttacher

COMPONENTS = ["left", "right", "proc"]


def ledger_source(**fields: object) -> pb.ServiceInfo:
    return pb.ServiceInfo(
        service_type=pb.ServiceType.SOURCE, output_event_types=["ledger"], **fields
    )


def blind(peer: object) -> CannotTell:
    """A platform where step 3 cannot tell (no /proc, a peer in a container)."""
    return CannotTell("no /proc here")


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux /proc")
async def test_the_timeout_names_the_missing_and_the_outside_registrations(
    tmp_path: Path,
) -> None:
    attacher = PipelineAttacher(load_pipeline(anonymous_pipeline(tmp_path)))
    with trio.fail_after(10):
        async with open_control_plane(port=0, attacher=attacher) as cp:
            ack = await call(cp.endpoint, lambda s: s.register(ledger_source(metadata={"t": "x"})))
            record = cp.registry.get(ack.service_id)
            with pytest.raises(RegistrationTimeout) as caught:
                await cp.wait_registered(COMPONENTS, timeout=0.2)
    # The peer as the attacher saw it: both ends of the connection, and its identity.
    assert record.peer is not None and record.peer.server == ("127.0.0.1", cp.port)
    assert isinstance(record.peer.connection, int)
    error = caught.value
    assert error.missing == COMPONENTS
    assert error.unattached == [
        f"{ack.service_id} (SERVICE_TYPE_SOURCE; outputs: ledger; metadata: t='x'): "
        "registered from a process outside the pipeline"
    ]
    assert "'left', 'right', 'proc' never registered" in str(error)
    assert error.unattached[0] in str(error)


async def test_where_the_process_cannot_be_told_declarations_attach_and_ambiguity_shows(
    tmp_path: Path,
) -> None:
    attacher = PipelineAttacher(load_pipeline(anonymous_pipeline(tmp_path)), locate=blind)
    with trio.fail_after(10):
        async with open_control_plane(port=0, attacher=attacher) as cp:
            first = await call(cp.endpoint, lambda s: s.register(ledger_source()))
            second = await call(cp.endpoint, lambda s: s.register(ledger_source()))
            proc = await call(cp.endpoint, lambda s: s.register(processor_info()))
            with pytest.raises(RegistrationTimeout) as caught:
                await cp.wait_registered(COMPONENTS, timeout=0.2)
    assert proc.service_id == "proc"  # the only processor: attached by declaration
    assert caught.value.missing == ["left", "right"]
    why = ": matches 2 components by declaration: left, right (process unknown: no /proc here)"
    assert caught.value.unattached == [
        f"{first.service_id} (SERVICE_TYPE_SOURCE; outputs: ledger){why}",
        f"{second.service_id} (SERVICE_TYPE_SOURCE; outputs: ledger){why}",
    ]


async def test_inspect_tells_how_each_registration_was_attached(tmp_path: Path) -> None:
    attacher = PipelineAttacher(load_pipeline(anonymous_pipeline(tmp_path)), locate=blind)
    with trio.fail_after(10):
        async with open_control_plane(port=0, attacher=attacher) as cp:
            await call(cp.endpoint, lambda s: s.register(ledger_source(service_id="left")))
            await call(
                cp.endpoint,
                lambda s: s.register(ledger_source(metadata={"component_id": "right"})),
            )
            await call(cp.endpoint, lambda s: s.register(processor_info()))
            stray = await call(cp.endpoint, lambda s: s.register(ledger_source()))
            attachments = await aio_as_trio(fetch_attachments)(cp.endpoint)
    assert attachments is not None
    seen = {
        sid: (a.component_id, a.attached_by, a.unattached_reason) for sid, a in attachments.items()
    }
    assert seen == {
        "left": ("left", "by id", ""),
        "right": ("right", "by metadata", ""),
        "proc": ("proc", "by declaration", ""),
        stray.service_id: (
            "",
            "",
            "declares the same as left, right, already registered (process unknown: no /proc here)",
        ),
    }


async def test_a_server_without_inspect_gives_no_attachments() -> None:
    with trio.fail_after(10):
        async with older_control_plane() as (endpoint, _):
            assert await aio_as_trio(fetch_attachments)(endpoint) is None
