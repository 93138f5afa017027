"""Why a command could not be started, in words a user can act on."""

from __future__ import annotations

import os

from flowctl.errors import ComponentStartError
from flowctl.orchestrator.interface import LaunchSpec


def start_error(spec: LaunchSpec, error: OSError) -> ComponentStartError:
    """Turn the OSError of a failed spawn into a ComponentStartError naming command and folder."""
    return ComponentStartError(spec.component_id, _reason(spec, error))


def _reason(spec: LaunchSpec, error: OSError) -> str:
    command = spec.argv[0]
    folder = os.fspath(spec.cwd)
    where = f"(working directory {folder})"
    # subprocess reports a failed chdir with the folder as the filename.
    if error.filename is not None and os.fspath(error.filename) == folder:
        if isinstance(error, FileNotFoundError):
            return f"working directory {folder} does not exist (command '{command}')"
        return f"working directory {folder} cannot be used: {error.strerror} (command '{command}')"
    if isinstance(error, FileNotFoundError):
        if "/" not in command:
            return f"command '{command}' not found on PATH {where}"
        if spec.cwd.joinpath(command).is_file():  # the file exists: its #! interpreter does not
            return f"command '{command}' names an interpreter (#! line) that was not found {where}"
        return f"command '{command}' not found {where}"
    if isinstance(error, PermissionError):
        if spec.cwd.joinpath(command).is_dir():
            return f"command '{command}' is a directory {where}"
        return f"command '{command}' is not executable (permission denied) {where}"
    return f"command '{command}' could not be run: {error.strerror or error} {where}"
