"""Tools for the container tests: the engine they run on, the images they use, components
as containers, and what a run leaves on the engine.

The engine is the one DOCKER_HOST names (scripts/test starts podman's Docker-compatible
service when none answers) and the images are built from this checkout by
scripts/lib/python_image.py: nothing is pulled, nothing is skipped.
"""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS / "cli"))  # the CLI tests' helpers drive the real executable
sys.path.insert(0, str(TESTS / "promises"))

from cli_helpers import FlowctlProcess, cli_env, run_flowctl, start_flowctl  # noqa: E402
from cli_pty import screen_lines, start_in_pty  # noqa: E402
from promise_helpers import run_args  # noqa: E402

from flowctl.orchestrator import container_sweep  # noqa: E402
from flowctl.orchestrator.engine_client import engine_address  # noqa: E402

# Python and this checkout's flowctl; tests mount tests/ and run fake_component.py in it.
PYTHON_IMAGE = "localhost/flowctl/python:3.11"
TESTS_IN_CONTAINER = "/tests"
FAKE_IN_CONTAINER = f"{TESTS_IN_CONTAINER}/components/fake_component.py"


def unique_id(name: str) -> str:
    """A component id no other test (on another worker) uses: what a test looks for on
    the shared engine is labelled with it."""
    return f"{name}-{uuid.uuid4().hex[:8]}"


def fake_container(component_id: str, *fake_args: str, **keys: Any) -> dict[str, Any]:
    """A pipeline entry: tests/components/fake_component.py in the Python image."""
    return {
        "id": component_id,
        "image": PYTHON_IMAGE,
        "command": ["python3", FAKE_IN_CONTAINER, *fake_args],
        "volumes": [f"{TESTS}:{TESTS_IN_CONTAINER}:ro"],
        **keys,
    }


def write_pipeline(path: Path, sources: list[dict[str, Any]], **sections: Any) -> Path:
    """A pipeline file (JSON is YAML) with these sources, and processors/sinks if given."""
    spec: dict[str, Any] = {"sources": sources}
    spec.update({key: value for key, value in sections.items() if value})
    document = {"apiVersion": "v1", "kind": "Pipeline", "metadata": {"name": "c"}, "spec": spec}
    path.write_text(json.dumps(document, indent=2))
    return path


def engine_url() -> str:
    return engine_address().url


def containers_of(component_id: str) -> list[dict[str, Any]]:
    """Every container (running or not) of a component, by its label, with its state."""
    filters = json.dumps({"label": [f"{container_sweep.COMPONENT_LABEL}={component_id}"]})
    status, body = container_sweep.call_engine(
        engine_url(), "GET", f"/containers/json?all=1&filters={quote(filters)}"
    )
    assert status == 200, body
    result: list[dict[str, Any]] = json.loads(body)
    return result


__all__ = [
    "FAKE_IN_CONTAINER",
    "PYTHON_IMAGE",
    "FlowctlProcess",
    "cli_env",
    "containers_of",
    "fake_container",
    "run_args",
    "run_flowctl",
    "screen_lines",
    "start_flowctl",
    "start_in_pty",
    "unique_id",
    "write_pipeline",
]
