"""The processes that belong to a component (or to a whole run), wherever they went.

A component's processes are its process group, every process carrying its mark in the
environment (run_tag.py), and the descendants of both. The group catches wrappers such as
`npm start` and `sh -c`; the mark catches what left the group (setsid, a double-forked
daemon); descent catches a process that left the group and cleared its environment, for as
long as its parent lives. No trio here: the watchdog process uses this module too.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field

from flowctl import procfs
from flowctl.orchestrator.run_tag import carries

_KTHREADD = 2  # the parent of every kernel thread: their environments are empty anyway


@dataclass(frozen=True)
class ProcessScan:
    """One look at /proc: every process, and the environment of each that may carry a mark.

    Reading every environment is most of a look's cost; one scan serves every ProcessSet
    that asks at the same moment (groups.py shares them between a run's components)."""

    table: dict[int, procfs.ProcInfo]
    environs: dict[int, list[bytes]]


def scan_processes() -> ProcessScan:
    """A fresh ProcessScan (milliseconds with a hundred processes: trio callers use a
    thread)."""
    table = procfs.snapshot()
    me = os.getpid()
    environs = {
        pid: procfs.environ_entries(pid)
        for pid, info in table.items()
        if info.alive and pid not in (me, _KTHREADD) and info.ppid != _KTHREADD
    }
    return ProcessScan(table, environs)


@dataclass
class ProcessSet:
    """Process groups plus a mark: `exact` (one component) or `prefix` (a whole run)."""

    pgids: set[int] = field(default_factory=set)
    exact: bytes | None = None
    prefix: bytes | None = None

    def live(self) -> set[int]:
        """Pids of the members still running (zombies do not count)."""
        if not procfs.available():
            return {pgid for pgid in self.pgids if _group_exists(pgid)}
        return self.live_in(scan_processes())

    def live_in(self, scan: ProcessScan) -> set[int]:
        """The members running at the time of `scan` (Linux: /proc is available)."""
        return set(self._members_in(scan))

    def _members_in(self, scan: ProcessScan) -> dict[int, procfs.ProcInfo]:
        table = scan.table
        seeds = {info.pid for info in table.values() if info.pgid in self.pgids}
        if self.exact is not None or self.prefix is not None:
            for pid, entries in scan.environs.items():
                if pid not in seeds and carries(
                    entries, exact=self.exact, prefix=self.prefix or b"\0"
                ):
                    seeds.add(pid)
        members = _with_descendants(seeds, table.values())
        members.discard(os.getpid())
        return {pid: table[pid] for pid in members if table[pid].alive}

    def signal(self, sig: int) -> bool:
        """Signal every member; False when there was none left to signal."""
        sent = self.signal_groups(sig)
        return self.signal_escaped(sig) or sent

    def signal_groups(self, sig: int) -> bool:
        """Signal the process groups: one system call each, no /proc scan."""
        sent = False
        for pgid in self.pgids:
            sent = signal_group(pgid, sig) or sent
        return sent

    def signal_escaped(self, sig: int) -> bool:
        """Signal the members outside the groups. It scans /proc (milliseconds with a
        hundred processes): trio callers use groups.signal_escaped."""
        if not procfs.available():
            return False
        return self.signal_escaped_in(scan_processes(), sig)

    def signal_escaped_in(self, scan: ProcessScan, sig: int) -> bool:
        """Signal the members outside the groups, as `scan` found them."""
        sent = False
        # The groups got it already: a second SIGTERM means "hurry" to some programs.
        escaped = [p.pid for p in self._members_in(scan).values() if p.pgid not in self.pgids]
        for pid in escaped:
            try:
                os.kill(pid, sig)
                sent = True
            except (ProcessLookupError, PermissionError):
                continue
        return sent


def signal_group(pgid: int, sig: int) -> bool:
    """Send `sig` to every process of the group; False (not an error) if none is left."""
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        # ESRCH: the group is gone. EPERM: only unsignallable members are left (a zombie
        # leader on some systems): nothing more we can do to them either way.
        return False
    return True


def _group_exists(pgid: int) -> bool:
    return signal_group(pgid, 0)


def _with_descendants(seeds: set[int], table: Iterable[procfs.ProcInfo]) -> set[int]:
    children: dict[int, list[int]] = {}
    for info in table:
        children.setdefault(info.ppid, []).append(info.pid)
    found, todo = set(seeds), list(seeds)
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found
