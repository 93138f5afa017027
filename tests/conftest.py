"""Shared fixtures: the fake component, and an isolated runtime folder for run discovery."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytest_plugins = ["flowctl.testing"]

TESTS = Path(__file__).parent
FAKE_COMPONENT = TESTS / "components" / "fake_component.py"


def fake_command(*args: str) -> list[str]:
    """The command line of tests/components/fake_component.py with these options."""
    return [sys.executable, str(FAKE_COMPONENT), *args]


@pytest.fixture(autouse=True)
def isolated_runtime_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test has its own run-discovery folder, so parallel runs never see each other."""
    folder = tmp_path / "runtime"
    monkeypatch.setenv("FLOWCTL_RUNTIME_DIR", str(folder))
    return folder
