"""Attachment in a real run: real component processes, real gRPC, the real /proc lookup."""

from __future__ import annotations

import sys
from pathlib import Path

import psutil
import pytest
import trio
from attach_helpers import anonymous_pipeline, call, processor_info

from flowctl.events import ServiceRegistered
from flowctl.testing import open_test_pipeline

pytestmark = pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux /proc")


async def test_anonymous_components_attach_by_process_even_from_a_grandchild(
    tmp_path: Path,
) -> None:
    path = anonymous_pipeline(tmp_path)
    proc_knows_its_id = trio.Event()

    async def watch_output(component_id: str, stream: str, line: str) -> None:
        if component_id == "proc" and line == "registered as proc":
            proc_knows_its_id.set()

    with trio.fail_after(30):
        async with open_test_pipeline(path, log_dir=tmp_path / "logs", output=watch_output) as run:
            assert await run.wait_ready()
            # The barrier passes when the server has the registration; the component
            # prints its ack a moment later.
            await proc_knows_its_id.wait()
            records = await run.control_plane.list_services()
            # proc's main process is the shell; Python, which registered, is its child.
            shell = psutil.Process(run.components["proc"].pid)
            assert shell.name() == "sh"
            assert [child.name() for child in shell.children()] == [Path(sys.executable).name]
    attached = {r.service_id: (r.component_id, r.attachment and r.attachment.how) for r in records}
    assert attached == {
        "left": ("left", "by process"),
        "right": ("right", "by process"),
        "proc": ("proc", "by process"),
    }
    assert "registered as proc" in (tmp_path / "logs" / "proc.log").read_text()


async def test_an_outside_client_is_listed_unattached_and_steals_nothing(tmp_path: Path) -> None:
    go = tmp_path / "proc may register"
    path = anonymous_pipeline(tmp_path, "--register-when", str(go))
    with trio.fail_after(30):
        async with open_test_pipeline(path, log_dir=tmp_path / "logs") as run:
            events = run.events.subscribe()
            registry = run.control_plane.registry
            # This test process is no component; it declares exactly what proc declares, and
            # proc has not registered yet: a declaration match would take proc's place.
            ack = await call(run.endpoint, lambda stub: stub.register(processor_info()))
            stray = registry.get(ack.service_id)
            assert stray.attachment is None
            assert stray.unattached_reason == "registered from a process outside the pipeline"
            assert "proc" in registry.missing(["left", "right", "proc"])

            go.touch()
            assert await run.wait_ready()
            assert registry.get("proc").attachment.how == "by process"
            assert all(running.exit_status is None for running in run.components.values())
    seen = []
    while True:
        try:
            seen.append(events.receive_nowait())
        except trio.WouldBlock:
            break
    [stray_event] = [e for e in seen if isinstance(e, ServiceRegistered) and not e.component_id]
    assert stray_event.service_id == ack.service_id
    assert stray_event.unattached_reason == "registered from a process outside the pipeline"
