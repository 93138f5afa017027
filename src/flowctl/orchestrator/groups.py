"""Signalling a component's process group and telling when it is empty.

Every component runs in its own session and process group (its leader's pid is the group
id), so `sh -c`, `npm start` and other wrappers cannot leave grandchildren behind.
"""

from __future__ import annotations

import os
from pathlib import Path

import trio

_PROC = Path("/proc")


def signal_group(pgid: int, sig: int) -> bool:
    """Send `sig` to every process of the group; False (not an error) if none is left."""
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        # ESRCH: the group is gone. EPERM: only unsignallable members are left (a zombie
        # leader on some systems): nothing more we can do to them either way.
        return False
    return True


def group_has_live_members(pgid: int) -> bool:
    """True while some process of the group is still running (zombies do not count).

    killpg(pgid, 0) also succeeds for zombies: orphans reparented to init stay zombies
    until init reaps them, and some inits (in containers and VMs) are slow at it. On Linux
    the process states in /proc tell them apart.
    """
    if not signal_group(pgid, 0):
        return False
    if not _PROC.is_dir():
        return True
    return any(_is_live_member(entry, pgid) for entry in _PROC.iterdir() if entry.name.isdigit())


def _is_live_member(proc_entry: Path, pgid: int) -> bool:
    try:
        stat = (proc_entry / "stat").read_text()
    except OSError:  # it exited while we looked
        return False
    # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
    fields = stat[stat.rfind(")") + 2 :].split()
    state, group = fields[0], int(fields[2])
    return group == pgid and state not in ("Z", "X")


async def wait_until_group_empty(pgid: int) -> None:
    """Return once no process of the group runs. A process group has no exit notification,
    so this polls, quickly at first (most groups empty within milliseconds of a signal)."""
    delay = 0.005
    while group_has_live_members(pgid):
        await trio.sleep(delay)
        delay = min(delay * 2, 0.1)
