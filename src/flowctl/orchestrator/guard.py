"""RunGuard: no process of a run outlives it, not even when flowctl is killed.

`open_run_guard()` is for a program that owns its whole process, as `flowctl run` does:

- it makes flowctl a subreaper (subreaper.py), so orphans of the run (double-forked
  daemons) are re-parented to flowctl and reaped by it, never left as zombies;
- it starts the watchdog (watchdog.py) before any component, which stops the run's
  processes if flowctl dies, SIGKILL included;
- when the run is over, it kills whatever of the run is still alive anywhere: processes
  carrying the run's mark, and orphans flowctl adopted.

Without it (the library's default) a RunGuard only gives the run its id, which marks the
components' environments so that their stop reaches processes that left their group.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress

import trio

from flowctl import procfs
from flowctl.exception_groups import lone_exceptions_unwrapped
from flowctl.orchestrator import container_sweep
from flowctl.orchestrator.members import ProcessSet
from flowctl.orchestrator.run_tag import new_run_id, run_prefix
from flowctl.orchestrator.subreaper import become_subreaper, stop_being_subreaper

SWEEP_LIMIT = 5.0  # the final sweep uses SIGKILL: this only bounds a process stuck in the kernel
WATCHDOG_EXIT_LIMIT = 2.0
REAP_FALLBACK_INTERVAL = 1.0  # when SIGCHLD cannot be received (not the main thread)


class RunGuard:
    """The run's id, and what flowctl's own children are (see open_run_guard)."""

    def __init__(self, run_id: str | None = None) -> None:
        self.run_id = run_id or new_run_id()
        self.adopting = False  # True once flowctl is a subreaper
        self._own: set[int] = set()  # children flowctl started: trio reaps them, never we
        self._spawn_lock = trio.Lock()
        self._watchdog: _WatchdogLink | None = None
        self.engines: set[str] = set()  # container engines the run used (their URLs)

    def announce_engine(self, url: str) -> None:
        """The run creates containers on this engine: the watchdog removes them if flowctl
        dies, and the final sweep removes what is left of them."""
        if url in self.engines:
            return
        self.engines.add(url)
        if self._watchdog is not None:
            self._watchdog.send(f"e{url}")

    async def spawn(self, start: Callable[[], Awaitable[trio.Process]]) -> trio.Process:
        """Start a child process of flowctl and tell the watchdog about its process group.

        Under the lock, so that the reaper of adopted orphans never takes the exit status of
        a child that has just been started and not yet recorded.
        """
        async with self._spawn_lock:
            process = await start()
            self._own.add(process.pid)
        if self._watchdog is not None:
            self._watchdog.send(f"+{process.pid}")
        return process

    def released(self, pid: int) -> None:
        """The child has been reaped and its group is empty: the pid may be reused now."""
        self._own.discard(pid)
        if self._watchdog is not None:
            self._watchdog.send(f"-{pid}")

    async def reap_adopted(self) -> None:
        """Reap the exited orphans flowctl adopted, by pid (never waitpid(-1): that could
        take the exit status of a component that trio is waiting for)."""
        if not self.adopting:
            return
        async with self._spawn_lock:
            # A /proc scan per SIGCHLD: in a thread, off the loop that serves the run.
            await trio.to_thread.run_sync(self._reap_exited_orphans)

    def _reap_exited_orphans(self) -> None:
        for info in self._adopted():
            if not info.alive:
                with suppress(ChildProcessError):
                    os.waitpid(info.pid, os.WNOHANG)

    def _adopted(self) -> list[procfs.ProcInfo]:
        me = os.getpid()
        return [
            info
            for info in procfs.snapshot().values()
            if info.ppid == me and info.pid not in self._own
        ]

    async def _reap_on_sigchld(self) -> None:
        try:
            with trio.open_signal_receiver(signal.SIGCHLD) as children_exited:
                async for _ in children_exited:
                    await self.reap_adopted()
        except RuntimeError:  # signals can only be received in the main thread
            while True:
                await trio.sleep(REAP_FALLBACK_INTERVAL)
                await self.reap_adopted()

    async def _sweep(self) -> None:
        """SIGKILL whatever of the run is still alive, until nothing is; reap it."""
        marked = ProcessSet(prefix=run_prefix(self.run_id))
        delay = 0.005
        with trio.move_on_after(SWEEP_LIMIT):
            while True:
                left = await trio.to_thread.run_sync(self._left_alive, marked)
                for pid in left:
                    with suppress(ProcessLookupError, PermissionError):
                        os.kill(pid, signal.SIGKILL)
                await self.reap_adopted()
                if not left and not (self.adopting and self._adopted()):
                    return
                await trio.sleep(delay)
                delay = min(delay * 2, 0.05)

    async def _remove_containers(self) -> None:
        """Containers of the run that its components could not remove (bounded by the
        sweep's call timeouts; the watchdog looks once more)."""
        for url in self.engines:
            with suppress(OSError, ValueError):
                await trio.to_thread.run_sync(
                    container_sweep.remove_run_containers, url, self.run_id
                )

    def _left_alive(self, marked: ProcessSet) -> set[int]:
        return marked.live() | _with_live_descendants(self._adopted())


def _with_live_descendants(roots: list[procfs.ProcInfo]) -> set[int]:
    live_roots = {info.pid for info in roots if info.alive}
    if not live_roots:
        return set()
    table = procfs.snapshot()
    children: dict[int, list[int]] = {}
    for info in table.values():
        children.setdefault(info.ppid, []).append(info.pid)
    found, todo = set(live_roots), list(live_roots)
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in found and table[child].alive:
                found.add(child)
                todo.append(child)
    return found


class _WatchdogLink:
    """flowctl's end of the pipe to the watchdog process."""

    def __init__(self, run_id: str, grace: float) -> None:
        read_end, self._write_end = os.pipe()  # both close-on-exec: components never get them
        try:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "flowctl.orchestrator.watchdog",
                    *("--fd", str(read_end), "--run-id", run_id),
                    *("--parent", str(os.getpid()), "--grace", f"{grace:g}"),
                ],
                pass_fds=[read_end],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,  # stderr stays: its one message is for the user
                start_new_session=True,  # a Ctrl+C at the terminal must not reach it
            )
        finally:
            os.close(read_end)

    def send(self, command: str) -> None:
        with suppress(OSError):  # the watchdog is gone: nothing to tell it
            os.write(self._write_end, f"{command}\n".encode())

    async def close(self) -> None:
        """Tell the watchdog the run stopped normally, and wait (bounded) until it exits."""
        self.send("stop")
        os.close(self._write_end)
        with trio.move_on_after(WATCHDOG_EXIT_LIMIT):
            while self.process.poll() is None:
                await trio.sleep(0.005)
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@asynccontextmanager
async def open_run_guard(*, watchdog_grace: float = 1.0) -> AsyncIterator[RunGuard]:
    """Guard a run (see the module's docstring). `watchdog_grace`: if flowctl dies, how long
    the run's processes have between the watchdog's SIGTERM and its SIGKILL."""
    guard = RunGuard()
    guard.adopting = become_subreaper()
    # Started synchronously, before any component: from now on flowctl cannot die unwatched.
    watchdog = _WatchdogLink(guard.run_id, watchdog_grace)
    guard._watchdog = watchdog
    guard._own.add(watchdog.process.pid)
    try:
        with lone_exceptions_unwrapped():
            async with trio.open_nursery() as nursery:
                if guard.adopting:
                    nursery.start_soon(guard._reap_on_sigchld)
                yield guard
                nursery.cancel_scope.cancel()
    finally:
        with trio.CancelScope(shield=True):
            await guard._sweep()
            await guard._remove_containers()
            await watchdog.close()
            guard._own.discard(watchdog.process.pid)
            if guard.adopting:
                await guard.reap_adopted()
                stop_being_subreaper()
