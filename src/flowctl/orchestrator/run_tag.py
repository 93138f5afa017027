"""Marking every process of a run through its environment, to find it wherever it goes.

Each component is started with FLOWCTL_RUN_ID=<run>/<component-id>. Children inherit the
environment, so a process that left its component's process group (setsid, a double-forked
daemon) still carries the mark, and the watchdog can find all of them even after flowctl
itself is gone. A process that clears its environment loses the mark (see README).

Each start of a component also gets FLOWCTL_LAUNCH_ID, unique to that start: a component
restarted under its policy carries the same FLOWCTL_RUN_ID as the processes it replaces,
and what is left of the old start must be stopped without touching the new one.
"""

from __future__ import annotations

import secrets

RUN_ID_VARIABLE = "FLOWCTL_RUN_ID"
LAUNCH_ID_VARIABLE = "FLOWCTL_LAUNCH_ID"


def new_run_id() -> str:
    return secrets.token_hex(8)


def component_tag(run_id: str, component_id: str) -> str:
    """The value of FLOWCTL_RUN_ID for one component's processes."""
    return f"{run_id}/{component_id}"


def new_launch_id() -> str:
    return secrets.token_hex(8)


def launch_entry(launch_id: str) -> bytes:
    """The exact environment entry of the processes of one start of a component."""
    return f"{LAUNCH_ID_VARIABLE}={launch_id}".encode()


def run_prefix(run_id: str) -> bytes:
    """The start of the environment entry of every process of the run."""
    return f"{RUN_ID_VARIABLE}={run_id}/".encode()


def carries(entries: list[bytes], *, exact: bytes | None = None, prefix: bytes = b"") -> bool:
    """Whether an environment (from procfs.environ_entries) carries the mark."""
    if exact is not None:
        return exact in entries
    return any(entry.startswith(prefix) for entry in entries)
