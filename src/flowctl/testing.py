"""Helpers and pytest-trio fixtures for embedding flowctl in a trio test suite.

Enable them in a conftest.py::

    pytest_plugins = ["flowctl.testing"]

then::

    async def test_my_component(flowctl_control_plane):
        ...  # start the component with FLOWCTL_ENDPOINT=flowctl_control_plane.endpoint
        await flowctl_control_plane.wait_registered(["my-component"], timeout=10)

    async def test_my_pipeline(tmp_path):
        path = write_pipeline(tmp_path / "p.yaml", sources=[{"id": "src", "command": [...]}])
        async with open_test_pipeline(path, log_dir=tmp_path / "logs") as run:
            await run.wait_ready()
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

from flowctl.controlplane import EmbeddedControlPlane, open_control_plane
from flowctl.pipeline import Pipeline
from flowctl.runner import OutputSink, PipelineRun, RunOptions, open_pipeline

Spec = Mapping[str, Any]

# Short enough that a failing test fails quickly, long enough for a loaded 2-core machine.
TEST_RUN_OPTIONS = RunOptions(
    control_plane_port=0,
    registration_timeout=15.0,
    shutdown_grace=5.0,
    heartbeat_interval=0.5,
)


def write_pipeline(
    path: str | os.PathLike[str],
    *,
    name: str = "test-pipeline",
    sources: Sequence[Spec],
    processors: Sequence[Spec] = (),
    sinks: Sequence[Spec] = (),
) -> Path:
    """Write a pipeline file from plain dicts (the keys of pipeline-format.md)."""
    spec: dict[str, Any] = {"sources": [dict(c) for c in sources]}
    if processors:
        spec["processors"] = [dict(c) for c in processors]
    if sinks:
        spec["sinks"] = [dict(c) for c in sinks]
    document = {"apiVersion": "v1", "kind": "Pipeline", "metadata": {"name": name}, "spec": spec}
    target = Path(path)
    target.write_text(yaml.safe_dump(document, sort_keys=False))
    return target


@asynccontextmanager
async def open_test_pipeline(
    pipeline: Pipeline | str | os.PathLike[str],
    *,
    log_dir: str | os.PathLike[str],
    output: OutputSink | None = None,
    **options: Any,
) -> AsyncIterator[PipelineRun]:
    """`open_pipeline` on a free port with test-friendly timeouts; `options` override them."""
    run_options = dataclasses.replace(TEST_RUN_OPTIONS, log_dir=Path(log_dir), **options)
    async with open_pipeline(pipeline, options=run_options, output=output) as run:
        yield run


@pytest.fixture
async def flowctl_control_plane() -> AsyncIterator[EmbeddedControlPlane]:
    """An embedded control plane on a free loopback port, stopped after the test."""
    async with open_control_plane(port=0, heartbeat_ttl=2.0, janitor_interval=0.2) as plane:
        yield plane
