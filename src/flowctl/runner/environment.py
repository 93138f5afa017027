"""What a component's process gets: its environment, and a check that it can start at all."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

from flowctl.controlplane.tls import ServerTls
from flowctl.durations import format_duration
from flowctl.errors import ComponentStartError, PipelineError
from flowctl.orchestrator.interface import ContainerSpec, Mount
from flowctl.pipeline import Component, Pipeline
from flowctl.pipeline.interpolate import FLOWCTL_PYTHON
from flowctl.pipeline.model import ContainerSettings


def component_environment(
    component: Component,
    *,
    endpoint: str,
    heartbeat_interval: float,
    parent: Mapping[str, str] | None = None,
    tls: ServerTls | None = None,
) -> dict[str, str]:
    """The parent's environment, then the FLOWCTL_* values, then the component's own `env:`.

    The pipeline file wins over FLOWCTL_* (control-plane-contract.md). PYTHONUNBUFFERED=1 is
    added unless set, so that Python components' output reaches the logs when written.
    FLOWCTL_PYTHON is the interpreter flowctl runs under: a component built on flowctl.sdk
    starts with it, whatever `python3` is on PATH (the example does).

    With TLS, FLOWCTL_TLS_CA_CERT is what to trust (the CA of mutual TLS, else the server's
    own certificate), and for mutual TLS FLOWCTL_TLS_CERT / FLOWCTL_TLS_KEY the client
    certificate to show; absolute paths, as a component may run in another folder.
    Inherited values are dropped (a run inside a TLS run's component is not TLS).
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
            FLOWCTL_PYTHON: sys.executable,
        }
    )
    for name in TLS_VARIABLES:  # how to reach this control plane is flowctl's to say
        env.pop(name, None)
    env.update(_tls_environment(tls))
    if tls is not None:
        env["FLOWCTL_ENDPOINT"] = _dialable(endpoint)
    env.update(component.env)
    return env


TLS_VARIABLES = ("FLOWCTL_TLS_CA_CERT", "FLOWCTL_TLS_CERT", "FLOWCTL_TLS_KEY")


def container_environment(env: Mapping[str, str]) -> dict[str, str]:
    """A container's environment: what component_environment gave (built without the
    parent's), less FLOWCTL_PYTHON, which names an interpreter of this machine."""
    return {name: value for name, value in env.items() if name != FLOWCTL_PYTHON}


def container_spec(settings: ContainerSettings) -> ContainerSpec:
    return ContainerSpec(
        image=settings.image,
        pull=settings.pull,
        mounts=tuple(
            Mount(volume.source, volume.target, volume.read_only) for volume in settings.volumes
        ),
        network=settings.network,
        user=settings.user,
        working_dir=settings.working_dir,
    )


# Listening on every address includes loopback, and a certificate names addresses to
# dial, never 0.0.0.0: with TLS, components dial loopback instead.
_WILDCARDS = {"0.0.0.0": "127.0.0.1", "[::]": "[::1]"}


def _dialable(endpoint: str) -> str:
    host, _, port = endpoint.rpartition(":")
    return f"{_WILDCARDS.get(host, host)}:{port}"


def _tls_environment(tls: ServerTls | None) -> dict[str, str]:
    if tls is None:
        return {}
    env = {"FLOWCTL_TLS_CA_CERT": str(tls.trust_anchor.absolute())}
    if tls.client_cert_file is not None and tls.client_key_file is not None:
        env["FLOWCTL_TLS_CERT"] = str(tls.client_cert_file.absolute())
        env["FLOWCTL_TLS_KEY"] = str(tls.client_key_file.absolute())
    return env


def check_can_start(pipeline: Pipeline, parent_env: Mapping[str, str] | None = None) -> None:
    """Refuse, before anything starts, a component whose command or folder does not exist."""
    env = os.environ if parent_env is None else parent_env
    for component in pipeline.components:
        if component.container is not None:
            _check_volumes(component)
            continue
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


def _check_volumes(component: Component) -> None:
    """A host folder that does not exist would be created by Docker (as root) and refused
    by Podman: say so before anything starts."""
    assert component.container is not None
    for volume in component.container.volumes:
        if volume.source.startswith("/") and not Path(volume.source).exists():
            raise ComponentStartError(
                component.id,
                f"volume {volume.source}:{volume.target}: {volume.source} does not exist",
            )
