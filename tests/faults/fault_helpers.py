"""The fault matrix's tools: a real `flowctl run`, a marker on every process it starts, and
the check that nothing of it is left (no process, no zombie)."""

from __future__ import annotations

import contextlib
import sys
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import psutil
import pytest
import trio

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS / "cli"))  # the CLI tests' helpers drive the real executable

from cli_helpers import FlowctlProcess, start_flowctl  # noqa: E402
from fake_component_command import fake_command  # noqa: E402

from flowctl.testing import write_pipeline  # noqa: E402

GRACE = "1s"  # short, so that the whole directory stays fast
MARKER_VARIABLE = "FAULT_MARKER"
MARKERS: list[str] = []  # of the current test, for the clean-up fixture below


def new_marker() -> str:
    marker = f"fault-{uuid.uuid4().hex}"
    MARKERS.append(marker)
    return marker


def run_args(pipeline: Path, tmp_path: Path, *extra: str) -> list[str]:
    return [
        "run",
        str(pipeline),
        "--control-plane-port",
        "0",
        "--log-dir",
        str(tmp_path / "logs"),
        "--shutdown-grace",
        GRACE,
        "--heartbeat-interval",
        "0.5s",
        "--registration-timeout",
        "30s",
        *extra,
    ]


def component(
    component_id: str, marker: str, *args: str, inputs: Sequence[str] = ()
) -> dict[str, Any]:
    """A fake component whose processes carry `marker` (environment and command line)."""
    spec: dict[str, Any] = {
        "id": component_id,
        "command": fake_command("--marker", marker, *args),
        "env": {MARKER_VARIABLE: marker},
    }
    if inputs:
        spec["inputs"] = list(inputs)
    return spec


def three_stage(
    tmp_path: Path,
    marker: str,
    *,
    source: Sequence[str] = (),
    processor: Sequence[str] = (),
    sink: Sequence[str] = (),
) -> Path:
    return write_pipeline(
        tmp_path / "pipeline.yaml",
        sources=[component("src", marker, *source)],
        processors=[component("proc", marker, *processor, inputs=["src"])],
        sinks=[component("sink", marker, *sink, inputs=["proc"])],
    )


def marked_processes(*markers: str) -> list[psutil.Process]:
    """Every live process carrying a marker in its command line or environment: found
    wherever it went, whoever its parent is now."""
    found = []
    for process in psutil.process_iter():
        try:
            command = " ".join(process.cmdline())
            in_command = any(marker in command for marker in markers)
            if in_command or process.environ().get(MARKER_VARIABLE) in markers:
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def run_tree(flowctl: FlowctlProcess, marker: str) -> list[psutil.Process]:
    """What the run consists of now: flowctl's descendants and everything marked."""
    by_pid = {p.pid: p for p in [*flowctl.descendants(), *marked_processes(marker)]}
    return list(by_pid.values())


def leftovers(processes: Sequence[psutil.Process], marker: str) -> list[str]:
    """Processes of the run still there, alive or as zombies."""
    left = []
    for process in [*processes, *marked_processes(marker)]:
        try:
            if process.is_running():  # the same process (pid and start time), zombie or not
                left.append(f"{process.pid} {process.status()} {process.cmdline()}")
        except psutil.NoSuchProcess:
            continue
    return sorted(set(left))


def assert_nothing_left(processes: Sequence[psutil.Process], marker: str) -> None:
    left = leftovers(processes, marker)
    assert not left, "left behind:\n" + "\n".join(left)


async def wait_until(condition: Callable[[], bool], timeout: float = 20) -> None:
    """Poll `condition` (a hang guard, not a timing assertion)."""
    with trio.fail_after(timeout):
        while not condition():
            await trio.sleep(0.05)


def stop_log(path: Path) -> list[str]:
    """The lines of a --sigterm-log file, e.g. ["term sink", "exit sink", ...]."""
    return path.read_text().splitlines() if path.exists() else []


@pytest.fixture(autouse=True)
def kill_what_a_failed_test_left(tmp_path: Path) -> Iterator[None]:
    """A failed fault test must not leave its run behind on the machine (each test module
    imports this fixture)."""
    yield
    left = marked_processes(*MARKERS)
    for process in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            if str(tmp_path) in " ".join(process.cmdline()):  # flowctl, reaping_init
                left.append(process)
    MARKERS.clear()
    for process in left:
        with contextlib.suppress(psutil.Error):
            process.kill()


__all__ = ["FlowctlProcess", "fake_command", "start_flowctl", "write_pipeline"]
