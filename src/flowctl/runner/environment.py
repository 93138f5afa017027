"""What a component's process gets: its environment, and a check that it can start at all."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path

from flowctl.durations import format_duration
from flowctl.errors import ComponentStartError, PipelineError
from flowctl.pipeline import Component, Pipeline


def component_environment(
    component: Component,
    *,
    endpoint: str,
    heartbeat_interval: float,
    parent: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The parent's environment, then the FLOWCTL_* values, then the component's own `env:`.

    The pipeline file wins over FLOWCTL_* (control-plane-contract.md). PYTHONUNBUFFERED=1 is
    added unless set, so that Python components' output reaches the logs when written.
    """
    env = dict(os.environ if parent is None else parent)
    env.setdefault("PYTHONUNBUFFERED", "1")
    env.update(
        {
            "ENABLE_FLOWCTL": "true",
            "FLOWCTL_ENDPOINT": endpoint,
            "FLOWCTL_HEARTBEAT_INTERVAL": format_duration(heartbeat_interval),
            "FLOWCTL_SERVICE_ID": component.id,
            "FLOWCTL_COMPONENT_ID": component.id,
        }
    )
    env.update(component.env)
    return env


def check_can_start(pipeline: Pipeline, parent_env: Mapping[str, str] | None = None) -> None:
    """Refuse, before anything starts, a component whose command or folder does not exist."""
    env = os.environ if parent_env is None else parent_env
    for component in pipeline.components:
        if not component.command:
            raise PipelineError(
                str(pipeline.file),
                component.place,
                f"component '{component.id}' has no command: the process orchestrator needs "
                "`command` or a known `type` (an `image` alone needs a container orchestrator)",
            )
        if not component.working_dir.is_dir():
            raise ComponentStartError(
                component.id, f"working directory {component.working_dir} does not exist"
            )
        program = component.command[0]
        path = component.env.get("PATH", env.get("PATH", os.defpath))
        found: Path | str | None
        if os.sep in program:
            found = Path(program) if os.access(program, os.X_OK) else None
        else:
            found = shutil.which(program, path=path)
        if found is None:
            raise ComponentStartError(
                component.id,
                f"command '{program}' not found or not executable "
                f"(working directory {component.working_dir})",
            )
