"""What the runner needs from an orchestrator: start a component, follow it, stop it.

Nothing here knows how a component is run (a child process or a container), nor anything of
gRPC, terminals or the pipeline file.
"""

from __future__ import annotations

import signal
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import trio


@dataclass(frozen=True)
class Mount:
    host: str  # an absolute host path, or a named volume
    target: str  # the path inside the container
    read_only: bool = False

    def bind(self) -> str:
        """The Docker Engine API's form: "host:target[:ro]"."""
        return f"{self.host}:{self.target}{':ro' if self.read_only else ''}"


@dataclass(frozen=True)
class ContainerSpec:
    """How to run a component as a container; argv (if any) replaces the image's command."""

    image: str
    pull: str = "never"  # "never" | "missing"
    mounts: tuple[Mount, ...] = ()
    network: str = "host"
    user: str | None = None
    working_dir: str | None = None  # inside the container; None: the image's


@dataclass(frozen=True)
class LaunchSpec:
    component_id: str
    argv: Sequence[str]  # the full command line (for a container: may be empty)
    env: Mapping[str, str]  # the COMPLETE environment of the child (the runner builds it)
    cwd: Path
    log_path: Path  # <log-dir>/<component-id>.log; missing parent folders are created
    container: ContainerSpec | None = None  # None: a local process


@dataclass(frozen=True)
class ExitStatus:
    """How a component's main process ended; `describe()` says it in words."""

    returncode: int  # negative = killed by that signal (the subprocess convention)

    @property
    def signal(self) -> signal.Signals | None:
        if self.returncode >= 0:
            return None
        try:
            return signal.Signals(-self.returncode)
        except ValueError:  # a real-time or otherwise unnamed signal
            return None

    def describe(self) -> str:
        """Reads after a name: "component 'x' exited with status 3"."""
        if self.returncode == 0:
            return "exited normally"
        if self.returncode > 0:
            return f"exited with status {self.returncode}"
        sig = self.signal
        return f"was killed by {sig.name}" if sig else f"was killed by signal {-self.returncode}"


# (component_id, stream "stdout" | "stderr", the line without its newline). Awaited: a slow
# consumer slows the reading of the pipe, and so the component (back-pressure).
OutputSink = Callable[[str, str, str], Awaitable[None]]


class RunningComponent(Protocol):
    component_id: str
    pid: int  # the main process (a container's: as this machine sees it; 0 if unknown)
    container_id: str  # the container's id; "" for a process
    exit_status: ExitStatus | None  # None while running
    stop_requested: bool  # True once stop()/kill() was called (or the nursery was cancelled)

    async def wait(self) -> ExitStatus:
        """Return once the main process has exited and its output is drained (bounded)."""
        ...

    def send_signal(self, sig: int) -> None:
        """Signal the whole process group; no error if it is already gone."""
        ...

    async def stop(self, grace: float) -> ExitStatus:
        """SIGTERM the group, wait up to `grace` for it to empty, then SIGKILL what is left."""
        ...

    def kill(self) -> None:
        """SIGKILL the group now."""
        ...


class Orchestrator(Protocol):
    async def start(
        self, spec: LaunchSpec, nursery: trio.Nursery, on_output: OutputSink
    ) -> RunningComponent:
        """Start a component whose tasks live in `nursery`; cancelling it stops the component.

        Raises flowctl.errors.ComponentStartError when it cannot be started at all.
        """
        ...
