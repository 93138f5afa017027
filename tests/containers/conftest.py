"""The container tests need an engine and the images scripts/test builds: without them they
fail, saying what to run (they are never skipped)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from container_helpers import PYTHON_IMAGE, engine_url

from flowctl.orchestrator import container_sweep

REPOSITORY = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session", autouse=True)
def container_engine() -> str:
    url = engine_url()
    try:
        status, _ = container_sweep.call_engine(url, "GET", "/_ping")
        problem = "" if status == 200 else f"HTTP {status}"
    except OSError as error:
        problem = str(error)
    if problem:
        pytest.fail(
            f"no container engine answers at {url} ({problem}): run scripts/test, which "
            "starts one, or set DOCKER_HOST",
            pytrace=False,
        )
    status, _ = container_sweep.call_engine(url, "GET", f"/images/{PYTHON_IMAGE}/json")
    if status == 404:
        # Built from this checkout by the same script scripts/test runs (quick when the
        # images are up to date; pytest-xdist's workers may both get here: building the
        # same image twice is harmless).
        subprocess.run(
            [sys.executable, str(REPOSITORY / "scripts/lib/python_image.py")], check=True
        )
    return url
