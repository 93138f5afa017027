"""Shared fixtures: every test gets its own runtime folder (run discovery) and its own
home (the standalone server's registry file), so tests never see each other or the user."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def isolated_runtime_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test has its own run-discovery folder, so parallel runs never see each other."""
    folder = tmp_path / "runtime"
    monkeypatch.setenv("FLOWCTL_RUNTIME_DIR", str(folder))
    return folder


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`flowctl server` keeps its registry under ~/.flowctl/: never the real one."""
    home = tmp_path / "user-home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    return home
