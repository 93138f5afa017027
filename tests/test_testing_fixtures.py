"""flowctl.testing, as another trio test suite would use it: the fixture and the helpers."""

from __future__ import annotations

import os
import subprocess
from functools import partial
from pathlib import Path

import trio
from fake_component_command import fake_command

from flowctl import EmbeddedControlPlane
from flowctl.testing import open_test_pipeline, write_pipeline


async def test_a_component_registers_and_heartbeats_with_the_fixture(
    flowctl_control_plane: EmbeddedControlPlane,
) -> None:
    env = {
        **os.environ,
        "FLOWCTL_ENDPOINT": flowctl_control_plane.endpoint,
        "FLOWCTL_SERVICE_ID": "my-component",
        "FLOWCTL_COMPONENT_ID": "my-component",
    }
    registry = flowctl_control_plane.registry
    with trio.fail_after(20):  # hang guard
        async with trio.open_nursery() as nursery:
            nursery.start_soon(
                partial(
                    trio.run_process,
                    fake_command("--heartbeat", "0.05"),
                    env=env,
                    stdout=subprocess.DEVNULL,
                )
            )
            await flowctl_control_plane.wait_registered(["my-component"], timeout=15)
            while not registry.get("my-component").metrics:
                await trio.sleep(0.02)
            nursery.cancel_scope.cancel()
    assert registry.get("my-component").healthy


async def test_a_written_pipeline_runs_with_test_options(tmp_path: Path) -> None:
    path = write_pipeline(
        tmp_path / "p.yaml",
        sources=[{"id": "src", "command": fake_command()}],
        sinks=[{"id": "sink", "inputs": ["src"], "command": fake_command("--type", "sink")}],
    )
    with trio.fail_after(30):
        async with open_test_pipeline(path, log_dir=tmp_path / "logs") as run:
            assert await run.wait_ready()
            assert run.endpoint != "127.0.0.1:8080"  # a free port, never the default
            ids = {record.service_id for record in await run.control_plane.list_services()}
    assert ids == {"src", "sink"}
    assert all(component.exit_status is not None for component in run.components.values())
    assert {c.registration.service_id for c in run.components.values() if c.registration} == {
        "src",
        "sink",
    }
