"""ProcessOrchestrator: every component is a child process in its own process group.

The tasks of a component live in the caller's nursery: trio.run_process (whose cancellation
stops the whole group), one output pump per stream, and a follower that notices the exit at
once (pidfd), drains the output, publishes the exit and clears the group of stragglers.
Cancelling that nursery therefore stops the component: no cleanup path of its own.
"""

from __future__ import annotations

import math
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial

import trio

from flowctl.errors import ComponentStartError
from flowctl.events import ComponentExited, ComponentStarted, ComponentStopping, EventBus
from flowctl.orchestrator.groups import live_members, signal_escaped, wait_until_gone
from flowctl.orchestrator.guard import RunGuard
from flowctl.orchestrator.interface import ExitStatus, LaunchSpec, OutputSink
from flowctl.orchestrator.members import ProcessSet
from flowctl.orchestrator.output import DrainWindow, LogFile, OutputPump
from flowctl.orchestrator.run_tag import (
    LAUNCH_ID_VARIABLE,
    RUN_ID_VARIABLE,
    component_tag,
    launch_entry,
    new_launch_id,
)
from flowctl.orchestrator.start_errors import start_error

SIGKILL_WAIT = 2.0  # how long a component's processes may take to disappear after SIGKILL


class ProcessOrchestrator:
    """Runs components as local child processes.

    `cancel_grace`: when the nursery is cancelled, how long a component's group has between
    SIGTERM and SIGKILL; also the grace of stragglers left in a group after its main process
    exited by itself.
    `guard`: the run's id and, with open_run_guard(), the watchdog and the subreaper.
    """

    def __init__(
        self,
        events: EventBus | None = None,
        cancel_grace: float = 10.0,
        guard: RunGuard | None = None,
    ) -> None:
        self._events = events
        self._cancel_grace = cancel_grace
        self._guard = guard or RunGuard()

    @property
    def run_id(self) -> str:
        """The run whose FLOWCTL_RUN_ID marks every process this orchestrator starts."""
        return self._guard.run_id

    async def start(
        self, spec: LaunchSpec, nursery: trio.Nursery, on_output: OutputSink
    ) -> ProcessComponent:
        component = ProcessComponent(spec, self._events, self._cancel_grace, self._guard)
        await component.launch(nursery, on_output)
        return component


class ProcessComponent:
    """A running component (the RunningComponent of interface.py), its group led by `pid`.

    Its processes (members.py) are that group, and whatever left the group but still
    carries this start's FLOWCTL_LAUNCH_ID in its environment, or descends from them.
    """

    def __init__(
        self, spec: LaunchSpec, events: EventBus | None, cancel_grace: float, guard: RunGuard
    ) -> None:
        self.component_id = spec.component_id
        self.pid = 0
        self.container_id = ""
        self.exit_status: ExitStatus | None = None
        self.stop_requested = False
        self._spec = spec
        self._events = events
        self._cancel_grace = cancel_grace
        self._guard = guard
        # This start's own mark: a restart of the component is another start (run_tag.py).
        self._launch_id = new_launch_id()
        self._members = ProcessSet(exact=launch_entry(self._launch_id))
        self._exited = trio.Event()  # exit status known and output drained
        self._group_gone = trio.Event()  # and no straggler left among its processes
        self._term_sent = False
        self._kill_at = math.inf  # when the group gets SIGKILL, once a stop has begun
        self._kill_timers: set[trio.CancelScope] = set()
        self._nursery: trio.Nursery | None = None

    # -- RunningComponent ------------------------------------------------------------------

    async def wait(self) -> ExitStatus:
        await self._exited.wait()
        assert self.exit_status is not None
        return self.exit_status

    def send_signal(self, sig: int) -> None:
        if self._group_gone.is_set():
            return
        self._members.signal_groups(sig)
        # Members that left the group are found by a /proc scan, 3-4 ms at a hundred
        # processes: done in a thread so that a stop of many components does not stall
        # the control plane and the other components' output on the trio thread.
        try:
            if self._nursery is None:
                raise RuntimeError("not launched")
            self._nursery.start_soon(self._signal_escaped, sig)
        except RuntimeError:  # not launched, or its nursery has closed: scan here
            self._members.signal_escaped(sig)

    async def _signal_escaped(self, sig: int) -> None:
        # Shielded: a cancelled run still signals what escaped its groups; a scan is short.
        with trio.CancelScope(shield=True):
            await signal_escaped(self._members, sig)

    async def stop(self, grace: float) -> ExitStatus:
        self.stop_requested = True
        self._terminate(grace)
        with self._until_kill_time():
            await self._group_gone.wait()
        if not self._group_gone.is_set():
            self._force_kill()
        await self._group_gone.wait()  # prompt after SIGKILL: the exit and a bounded drain
        assert self.exit_status is not None
        return self.exit_status

    def kill(self) -> None:
        self.stop_requested = True
        self._force_kill()

    # -- starting --------------------------------------------------------------------------

    async def launch(self, nursery: trio.Nursery, on_output: OutputSink) -> None:
        spec = self._spec
        if not spec.argv:
            raise ComponentStartError(spec.component_id, "no command given")
        try:
            log = LogFile(spec.log_path)
        except OSError as error:
            raise ComponentStartError(
                spec.component_id, f"cannot write its log file {spec.log_path}: {error.strerror}"
            ) from None
        # The mark is the orchestrator's own: the pipeline's `env:` cannot override it.
        env = {
            **spec.env,
            RUN_ID_VARIABLE: component_tag(self._guard.run_id, spec.component_id),
            LAUNCH_ID_VARIABLE: self._launch_id,
        }
        try:
            run_process = partial(
                trio.run_process,
                list(spec.argv),
                env=env,
                cwd=spec.cwd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,  # its own group: signals reach grandchildren
                check=False,
                deliver_cancel=self._deliver_cancel,
            )
            process: trio.Process = await self._guard.spawn(partial(nursery.start, run_process))
        except OSError as error:
            log.close()
            raise start_error(spec, error) from None
        except BaseException:
            log.close()
            raise
        self.pid = process.pid
        self._members.pgids.add(process.pid)
        self._nursery = nursery
        window = DrainWindow()
        pumps: list[OutputPump] = []
        for name, stream in (("stdout", process.stdout), ("stderr", process.stderr)):
            assert stream is not None  # both are pipes
            pump = OutputPump(stream, log, partial(on_output, spec.component_id, name), window)
            nursery.start_soon(pump.run, name=f"{spec.component_id} {name}")
            pumps.append(pump)
        nursery.start_soon(self._follow, process, pumps, window, log)
        self._publish(ComponentStarted(self.component_id, self.pid))

    # -- following and stopping ------------------------------------------------------------

    async def _follow(
        self, process: trio.Process, pumps: list[OutputPump], window: DrainWindow, log: LogFile
    ) -> None:
        # Shielded and still bounded: if the nursery is cancelled, run_process's
        # deliver_cancel ends the process; after it, every step below has a deadline.
        with trio.CancelScope(shield=True):
            await process.wait()  # pidfd on Linux: the exit is noticed at once
            if await live_members(self._members):
                # Like systemd's control-group mode: when the main process is gone, the rest
                # of its group goes too (and their end closes the pipes they hold).
                self._terminate(self._cancel_grace)
            window.open()
            for pump in pumps:
                await pump.finished.wait()
            log.close()
            assert process.returncode is not None
            self.exit_status = ExitStatus(process.returncode)
            self._publish(
                ComponentExited(
                    self.component_id,
                    process.returncode,
                    self.exit_status.describe(),
                    expected=self.stop_requested,
                )
            )
            self._exited.set()
            with self._until_kill_time():
                await wait_until_gone(self._members)
            if await live_members(self._members):
                self._force_kill()
                # SIGKILL takes effect when the process is next scheduled (or, for one stuck
                # in the kernel, later still): wait for it, boundedly.
                with trio.move_on_after(SIGKILL_WAIT):
                    await wait_until_gone(self._members)
            self._group_gone.set()
            self._guard.released(self.pid)

    async def _deliver_cancel(self, process: trio.Process) -> None:
        """The nursery was cancelled: flowctl stops the component, group and all.

        run_process cancels this as soon as the main process exits; _follow then takes care
        of what is left of the group, against the same kill time.
        """
        self.stop_requested = True
        self._terminate(self._cancel_grace)
        with self._until_kill_time():
            await trio.sleep_forever()
        self._force_kill()

    def _terminate(self, grace: float) -> None:
        """SIGTERM the group (once: a second SIGTERM means "hurry" to some programs) and set
        the kill time `grace` seconds from now, unless an earlier one is set already."""
        if not self._term_sent:
            self._term_sent = True
            self._publish(ComponentStopping(self.component_id))
            self.send_signal(signal.SIGTERM)
        self._bring_kill_time_forward(trio.current_time() + grace)

    def _force_kill(self) -> None:
        self.send_signal(signal.SIGKILL)
        self._bring_kill_time_forward(trio.current_time())

    def _bring_kill_time_forward(self, when: float) -> None:
        if when < self._kill_at:
            self._kill_at = when
            for timer in self._kill_timers:
                timer.deadline = when

    @contextmanager
    def _until_kill_time(self) -> Iterator[None]:
        """Run the body until the kill time (which stop(), kill() and a cancel may move)."""
        timer = trio.CancelScope(deadline=self._kill_at)
        self._kill_timers.add(timer)
        try:
            with timer:
                yield
        finally:
            self._kill_timers.discard(timer)

    def _publish(self, event: ComponentStarted | ComponentStopping | ComponentExited) -> None:
        if self._events is not None:
            self._events.publish(event)
