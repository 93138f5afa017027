"""Shared fixtures: an isolated runtime folder for run discovery."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["flowctl.testing"]


@pytest.fixture(autouse=True)
def isolated_runtime_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test has its own run-discovery folder, so parallel runs never see each other."""
    folder = tmp_path / "runtime"
    monkeypatch.setenv("FLOWCTL_RUNTIME_DIR", str(folder))
    return folder
