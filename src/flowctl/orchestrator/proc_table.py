"""Reading the process table from /proc: who runs, in which group, under which parent.

Linux only; everywhere else `snapshot()` is empty and callers fall back to what signals
alone can tell.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

PROC = "/proc"


@dataclass(frozen=True)
class ProcInfo:
    pid: int
    ppid: int
    pgid: int
    state: str  # "R", "S", ..., "Z" for a zombie, "X" for dead

    @property
    def alive(self) -> bool:
        return self.state not in ("Z", "X")


def available() -> bool:
    return os.path.isdir(PROC)


def read_info(pid: int) -> ProcInfo | None:
    """One process's line of /proc/PID/stat; None when it is gone."""
    try:
        with open(f"{PROC}/{pid}/stat", "rb") as file:
            stat = file.read().decode(errors="replace")
    except OSError:
        return None
    # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
    fields = stat[stat.rfind(")") + 2 :].split()
    return ProcInfo(pid, ppid=int(fields[1]), pgid=int(fields[2]), state=fields[0])


def snapshot() -> dict[int, ProcInfo]:
    """Every process of the system (that this user may see), by pid."""
    table: dict[int, ProcInfo] = {}
    try:
        entries = os.listdir(PROC)
    except OSError:
        return table
    for name in entries:
        if name.isdigit():
            info = read_info(int(name))
            if info is not None:
                table[info.pid] = info
    return table


def environ_entries(pid: int) -> list[bytes]:
    """The environment a process was started with (b"NAME=value" entries); [] if unreadable.

    A zombie's or a kernel thread's is empty, another user's is unreadable (EACCES).
    """
    try:
        with open(f"{PROC}/{pid}/environ", "rb") as file:
            return file.read().split(b"\0")
    except OSError:
        return []
