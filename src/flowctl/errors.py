"""Typed errors shared by every layer.

Each error carries what the user needs (the place and the cause) and the exit status the
CLI should use. The CLI turns them into one message in one place (flowctl.cli.errors);
nothing below it prints or exits.
"""

from __future__ import annotations

from collections.abc import Sequence

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class FlowctlError(Exception):
    """Base of every error flowctl reports to a user."""

    exit_status: int = EXIT_FAILED

    @property
    def message(self) -> str:
        return str(self)


class PipelineError(FlowctlError):
    """A pipeline file that cannot be used: names the file, the place and the reason."""

    exit_status = EXIT_USAGE

    def __init__(self, file: str, place: str, reason: str) -> None:
        self.file = file
        self.place = place
        self.reason = reason
        where = f"{file}: {place}" if place else file
        super().__init__(f"{where}: {reason}")


class PortInUse(FlowctlError):
    """The control plane's address is taken (or cannot be bound)."""

    def __init__(self, host: str, port: int, detail: str = "address already in use") -> None:
        self.host = host
        self.port = port
        super().__init__(
            f"cannot start the control plane on {host}:{port}: {detail} "
            "(choose another port, or port 0 for a free one)"
        )


class ComponentStartError(FlowctlError):
    """A component's process could not be started at all (missing binary, bad folder)."""

    def __init__(self, component_id: str, reason: str) -> None:
        self.component_id = component_id
        self.reason = reason
        super().__init__(f"component '{component_id}' could not start: {reason}")


class ComponentFailed(FlowctlError):
    """A component exited while the pipeline was supposed to be running."""

    def __init__(
        self, component_id: str, cause: str, last_lines: Sequence[str] = (), log_path: str = ""
    ) -> None:
        self.component_id = component_id
        self.cause = cause
        self.last_lines = list(last_lines)
        self.log_path = log_path
        super().__init__(f"component '{component_id}' {cause}")


class RegistrationTimeout(FlowctlError):
    """The registration barrier timed out: names who is missing and what was seen instead.

    `not_started`: components never started because what they wait for (`waiting_for`)
    had not registered; they are among `missing` too.
    """

    def __init__(
        self,
        timeout: float,
        missing: Sequence[str],
        unattached: Sequence[str] = (),
        *,
        not_started: Sequence[str] = (),
        waiting_for: Sequence[str] = (),
    ) -> None:
        self.timeout = timeout
        self.missing = list(missing)
        self.unattached = list(unattached)
        self.not_started = list(not_started)
        self.waiting_for = list(waiting_for)
        silent = [m for m in missing if m not in self.not_started]
        clauses = []
        if silent or not not_started:
            quoted = ", ".join(repr(m) for m in silent)
            clauses.append(f"{quoted} never registered with the control plane")
        if not_started:
            were = "was" if len(not_started) == 1 else "were"
            clause = f"{_joined(not_started)} {were} not started"
            if waiting_for:
                clause += f": waiting for {_joined(waiting_for)} to register"
            clauses.append(clause)
        text = f"registration timed out after {timeout:g}s: " + "; ".join(clauses)
        if unattached:
            # One per line: each description has its own "; " between type, events, metadata.
            text += "\nregistrations that matched no component:"
            text += "".join(f"\n  {description}" for description in unattached)
        super().__init__(text)


class RunStopped(FlowctlError):
    """A wait on a pipeline run (`wait_healthy`, `wait_metric`) that the run's stop ended
    first: `stop()` was called, or its `async with` block was left."""

    def __init__(self, waiting_for: str) -> None:
        self.waiting_for = waiting_for
        super().__init__(f"the run stopped while waiting for {waiting_for}")


class ControlPlaneUnavailable(FlowctlError):
    """`flowctl list` (or a client) could not reach a control plane."""

    def __init__(self, endpoint: str, detail: str) -> None:
        self.endpoint = endpoint
        self.detail = detail
        super().__init__(f"no control plane answered at {endpoint}: {detail}")


class RegistryUnavailable(FlowctlError):
    """The standalone server's registry file cannot be opened, created or read."""

    def __init__(self, path: object, detail: str) -> None:
        self.path = str(path)
        self.detail = detail
        super().__init__(f"cannot use the registry file {path}: {detail}")


class UsageError(FlowctlError):
    """A bad command line value (a duration, an option that is not available)."""

    exit_status = EXIT_USAGE


def _joined(names: Sequence[str]) -> str:
    """Quoted names in a sentence: 'a'; 'a' and 'b'; 'a', 'b' and 'c'."""
    quoted = [repr(name) for name in names]
    if len(quoted) <= 1:
        return "".join(quoted)
    return f"{', '.join(quoted[:-1])} and {quoted[-1]}"
