"""Reading Linux's process table from /proc: who runs, under which parent, in which group
and session, with which environment.

Shared by the orchestrator (which processes belong to a component) and by attachment
(which component a connecting process belongs to). Linux only: elsewhere `available()` is
False, `snapshot()` is empty, and callers fall back to what signals alone can tell.
Every function takes the /proc root, so tests can point it at a folder of their own.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

PROC = "/proc"


@dataclass(frozen=True)
class ProcInfo:
    pid: int
    ppid: int
    session: int
    pgid: int = 0
    state: str = "S"  # "R", "S", ..., "Z" for a zombie, "X" for dead

    @property
    def alive(self) -> bool:
        return self.state not in ("Z", "X")


def available(proc: str = PROC) -> bool:
    return os.path.isdir(proc)


def read_info(pid: int, proc: str = PROC) -> ProcInfo | None:
    """One process's line of /proc/PID/stat; None when it is gone."""
    try:
        with open(f"{proc}/{pid}/stat", "rb") as file:
            stat = file.read().decode(errors="replace")
    except OSError:
        return None
    # "pid (comm) state ppid pgrp session ...": comm may hold spaces and parentheses.
    fields = stat[stat.rfind(")") + 2 :].split()
    return ProcInfo(
        pid, ppid=int(fields[1]), session=int(fields[3]), pgid=int(fields[2]), state=fields[0]
    )


def all_pids(proc: str = PROC) -> Iterable[int]:
    try:
        return [int(name) for name in os.listdir(proc) if name.isdigit()]
    except OSError:
        return []


def snapshot(proc: str = PROC) -> dict[int, ProcInfo]:
    """Every process of the system (that this user may see), by pid."""
    table: dict[int, ProcInfo] = {}
    for pid in all_pids(proc):
        info = read_info(pid, proc)
        if info is not None:
            table[info.pid] = info
    return table


def environ_entries(pid: int, proc: str = PROC) -> list[bytes]:
    """The environment a process was started with (b"NAME=value" entries); [] if unreadable.

    A zombie's or a kernel thread's is empty, another user's is unreadable (EACCES).
    """
    try:
        with open(f"{proc}/{pid}/environ", "rb") as file:
            return file.read().split(b"\0")
    except OSError:
        return []


def pids_with_environ_prefix(prefix: bytes, proc: str = PROC) -> list[int]:
    """Every process whose environment has an entry starting with `prefix` (a mark such as
    b"FLOWCTL_RUN_ID=<run>/"), this process excluded."""
    me = os.getpid()
    return [
        pid
        for pid in all_pids(proc)
        if pid != me and any(entry.startswith(prefix) for entry in environ_entries(pid, proc))
    ]
