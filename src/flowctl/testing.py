"""Helpers for test suites that run flowctl: pipeline files from dicts, test options.

The fixtures (`flowctl_pipeline`, `flowctl_control_plane`) come from flowctl's pytest
plugin, enabled by installing flowctl (see `flowctl.pytest_plugin`); `PipelineFactory`,
the type of `flowctl_pipeline`, is here for annotations::

    from flowctl.testing import PipelineFactory, write_pipeline

    async def test_my_pipeline(flowctl_pipeline: PipelineFactory, tmp_path: Path) -> None:
        path = write_pipeline(tmp_path / "p.yaml", sources=[{"id": "src", "command": [...]}])
        async with flowctl_pipeline(path) as run:
            await run.wait_healthy()

`open_test_pipeline` is `open_pipeline` with the same test-friendly options, for code
that does not go through the fixture.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import yaml

from flowctl.pipeline import Pipeline
from flowctl.pytest_plugin import PipelineFactory
from flowctl.runner import OutputSink, PipelineRun, RunOptions, open_pipeline

__all__ = [
    "TEST_RUN_OPTIONS",
    "PipelineFactory",
    "Spec",
    "open_test_pipeline",
    "write_pipeline",
]

Spec = Mapping[str, Any]

# The registration timeout is a guard against a hang, not a measure: generous enough that a
# loaded 2-core machine never reaches it with components that do register.
TEST_RUN_OPTIONS = RunOptions(
    control_plane_port=0,
    registration_timeout=60.0,
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
