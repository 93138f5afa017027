"""Helpers for the orchestrator tests: launch specs, an output recorder, process checks."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

import psutil
import trio

from flowctl.orchestrator import LaunchSpec

PYTHON = sys.executable


def spec_for(
    tmp_path: Path,
    argv: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    component_id: str = "comp",
) -> LaunchSpec:
    """A spec with the test's environment (unbuffered Python) and its log under tmp_path."""
    return LaunchSpec(
        component_id=component_id,
        argv=list(argv),
        env=env if env is not None else {**os.environ, "PYTHONUNBUFFERED": "1"},
        cwd=cwd or tmp_path,
        log_path=tmp_path / "logs" / f"{component_id}.log",
    )


def sh(script: str) -> list[str]:
    return ["sh", "-c", script]


def python(code: str) -> list[str]:
    return [PYTHON, "-c", code]


class OutputRecorder:
    """An OutputSink that keeps every line and lets a test wait for one."""

    def __init__(self) -> None:
        self.records: list[tuple[str, str, str]] = []
        self._changed = trio.Event()

    async def __call__(self, component_id: str, stream: str, line: str) -> None:
        self.records.append((component_id, stream, line))
        self._changed.set()
        self._changed = trio.Event()

    def lines(self, stream: str | None = None) -> list[str]:
        return [line for _, name, line in self.records if stream in (None, name)]

    async def wait_for(self, line: str, count: int = 1) -> None:
        """Return once `line` has been seen `count` times (from any component)."""
        while self.lines().count(line) < count:
            await self._changed.wait()


def descendants(pid: int) -> list[int]:
    return [child.pid for child in psutil.Process(pid).children(recursive=True)]


def running(pid: int) -> bool:
    """True while the process exists and is not a zombie (an exited, unreaped process)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
