"""A container's registration is attached to its component by id, by metadata, or, on the
host's network, by process: the container's processes are processes of this machine (in
their own pid namespace, but visible in /proc) and carry the run's mark in their
environment, so the connection's owner is found as a daemon's would be."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
import trio
from container_helpers import (
    containers_of,
    fake_container,
    run_args,
    start_flowctl,
    unique_id,
    write_pipeline,
)

GUARD = 120


@pytest.mark.parametrize(
    ("register", "how"),
    [
        ("id", "by id"),
        ("metadata", "by metadata"),
        ("anonymous", "by process"),
    ],
)
async def test_a_containers_registration_is_attached_to_its_component(
    tmp_path: Path, register: str, how: str
) -> None:
    component = unique_id("box")
    pipeline = write_pipeline(
        tmp_path / "p.yaml", [fake_container(component, "--register", register)]
    )
    async with trio.open_nursery() as nursery:
        flowctl = await start_flowctl(nursery, run_args(pipeline, tmp_path), cwd=tmp_path)
        await flowctl.wait_for_line(rf"registered {component} \({how}\)", timeout=GUARD)
        await flowctl.wait_for_line("all 1 component registered", timeout=GUARD)
        flowctl.send_signal(signal.SIGINT)
        assert await flowctl.wait(timeout=GUARD) == 0, flowctl.output
    assert containers_of(component) == []
