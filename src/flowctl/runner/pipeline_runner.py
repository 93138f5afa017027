"""PipelineRunner: one nursery that holds the control plane, every component and the barrier.

    async with open_pipeline("pipeline.yaml", control_plane_port=0) as run:
        await run.wait_ready()      # the registration barrier
        await run.wait()            # until run.stop(), or a failure is raised

Any failure (a component exits, the barrier times out) first stops the components in
reverse dependency order within one grace period, then raises a typed error out of the
`async with`. Leaving the block stops everything the same way. If the block is cancelled
from outside, the orchestrator's cancellation path kills every process group instead, so
no path leaves a process behind.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import trio

from flowctl.controlplane import EmbeddedControlPlane, open_control_plane
from flowctl.errors import ComponentFailed, FlowctlError, RegistrationTimeout
from flowctl.events import EventBus
from flowctl.exception_groups import lone_exceptions_unwrapped
from flowctl.orchestrator import (
    LaunchSpec,
    Orchestrator,
    OutputSink,
    ProcessOrchestrator,
    RunningComponent,
)
from flowctl.pipeline import Component, Pipeline, load_pipeline
from flowctl.runner.attach import PipelineAttacher
from flowctl.runner.environment import check_can_start, component_environment
from flowctl.runner.tail import OutputTail


@dataclass(frozen=True)
class RunOptions:
    control_plane_host: str = "127.0.0.1"
    control_plane_port: int = 8080
    log_dir: Path = Path("logs")
    heartbeat_ttl: float = 30.0
    janitor_interval: float = 10.0
    heartbeat_interval: float = 10.0  # given to components as FLOWCTL_HEARTBEAT_INTERVAL
    registration_timeout: float = 30.0
    shutdown_grace: float = 10.0


async def _discard(component_id: str, stream: str, line: str) -> None:
    return None


class PipelineRun:
    """A running pipeline. Created by `open_pipeline`; not constructed directly."""

    def __init__(
        self,
        pipeline: Pipeline,
        control_plane: EmbeddedControlPlane,
        options: RunOptions,
        orchestrator: Orchestrator,
        events: EventBus,
        nursery: trio.Nursery,
        output: OutputSink,
    ) -> None:
        self.pipeline = pipeline
        self.control_plane = control_plane
        self.options = options
        self.events = events
        self.components: dict[str, RunningComponent] = {}
        self.failure: FlowctlError | None = None
        self._orchestrator = orchestrator
        self._nursery = nursery
        self._output = output
        self._tail = OutputTail()
        self._stop_requested = trio.Event()
        self._stopped = trio.Event()

    @property
    def endpoint(self) -> str:
        return self.control_plane.endpoint

    @property
    def stopping(self) -> bool:
        return self._stop_requested.is_set()

    def last_lines(self, component_id: str) -> list[str]:
        return self._tail.last(component_id)

    async def wait_ready(self) -> bool:
        """The registration barrier: wait until every component has registered.

        Returns True when all registered, False when a stop was requested first. Raises
        RegistrationTimeout (after stopping everything) when the timeout expires.
        """
        ids = [component.id for component in self.pipeline.components]
        timeout_error: RegistrationTimeout | None = None
        async with trio.open_nursery() as nursery:

            async def barrier() -> None:
                nonlocal timeout_error
                try:
                    await self.control_plane.wait_registered(
                        ids, timeout=self.options.registration_timeout
                    )
                except RegistrationTimeout as error:
                    timeout_error = error
                nursery.cancel_scope.cancel()

            async def stop_requested() -> None:
                await self._stop_requested.wait()
                nursery.cancel_scope.cancel()

            nursery.start_soon(barrier)
            nursery.start_soon(stop_requested)
        if timeout_error is not None:
            await self._fail(timeout_error)
        await self._unless_failed()
        return not self.stopping

    async def wait(self) -> None:
        """Until the run has stopped (after `stop()`); a failure is raised from the block."""
        await self._stopped.wait()
        await self._unless_failed()

    async def _unless_failed(self) -> None:
        """After a failure, the caller must not carry on as if the run were fine: it waits
        here until the failure, raised by the task that saw it, cancels the block."""
        if self.failure is not None:
            await trio.sleep_forever()

    async def stop(self) -> None:
        """Stop every component, sinks first, each level at once, within one grace period."""
        if self._stop_requested.is_set():
            await self._stopped.wait()
            return
        self._stop_requested.set()
        with trio.CancelScope(shield=True):
            await self._stop_in_order()
        self._stopped.set()

    def kill_all(self) -> None:
        """Kill every process group now (a second Ctrl+C)."""
        for component in self.components.values():
            component.kill()

    async def _stop_in_order(self) -> None:
        deadline = trio.current_time() + self.options.shutdown_grace
        with trio.move_on_at(deadline):
            for level in reversed(self.pipeline.start_levels()):
                async with trio.open_nursery() as nursery:
                    for component in level:
                        running = self.components.get(component.id)
                        if running is not None and running.exit_status is None:
                            grace = max(0.0, deadline - trio.current_time())
                            nursery.start_soon(running.stop, grace)
        # Past the grace period: whatever survives is killed, then reaped.
        self.kill_all()
        with trio.move_on_after(5):
            for running in self.components.values():
                await running.wait()

    async def _fail(self, error: FlowctlError) -> None:
        if self.failure is None and not self.stopping:
            self.failure = error
        await self.stop()
        if self.failure is error:
            raise error

    async def _start_all(self) -> None:
        log_dir = self.options.log_dir
        for component in self.pipeline.start_order():
            if self.stopping:
                return
            spec = LaunchSpec(
                component_id=component.id,
                argv=component.command,
                env=component_environment(
                    component,
                    endpoint=self.endpoint,
                    heartbeat_interval=self.options.heartbeat_interval,
                ),
                cwd=component.working_dir,
                log_path=log_dir / f"{component.id}.log",
            )
            running = await self._orchestrator.start(spec, self._nursery, self._on_output)
            self.components[component.id] = running
            self._nursery.start_soon(self._watch, component, running)

    async def _on_output(self, component_id: str, stream: str, line: str) -> None:
        self._tail.add(component_id, line)
        await self._output(component_id, stream, line)

    async def _watch(self, component: Component, running: RunningComponent) -> None:
        status = await running.wait()
        if running.stop_requested or self.stopping:
            return
        registered = component.id in self.control_plane.registry.attached_components()
        when = "after it registered" if registered else "before it registered"
        await self._fail(
            ComponentFailed(
                component.id,
                f"{status.describe()} {when}",
                self._tail.last(component.id),
                str(self.options.log_dir / f"{component.id}.log"),
            )
        )


@asynccontextmanager
async def open_pipeline(
    pipeline: Pipeline | str | os.PathLike[str],
    *,
    options: RunOptions | None = None,
    output: OutputSink | None = None,
    events: EventBus | None = None,
    orchestrator: Orchestrator | None = None,
    parent_env: Mapping[str, str] | None = None,
) -> AsyncIterator[PipelineRun]:
    """Start the control plane and every component; stop them all when the block ends."""
    if not isinstance(pipeline, Pipeline):
        pipeline = load_pipeline(pipeline)
    options = options or RunOptions()
    check_can_start(pipeline, parent_env)
    events = events or EventBus()
    orchestrator = orchestrator or ProcessOrchestrator(
        events=events, cancel_grace=options.shutdown_grace
    )
    # Only ProcessOrchestrator marks its processes; with another, attachment uses the tree.
    run_id = orchestrator.run_id if isinstance(orchestrator, ProcessOrchestrator) else None
    attacher = PipelineAttacher(pipeline, run_id=run_id)
    with lone_exceptions_unwrapped():
        async with (
            open_control_plane(
                host=options.control_plane_host,
                port=options.control_plane_port,
                heartbeat_ttl=options.heartbeat_ttl,
                janitor_interval=options.janitor_interval,
                attacher=attacher,
                events=events,
            ) as control_plane,
            trio.open_nursery() as nursery,
        ):
            run = PipelineRun(
                pipeline,
                control_plane,
                options,
                orchestrator,
                events,
                nursery,
                output or _discard,
            )
            attacher.follow(run.components)  # attachment by process needs the main pids
            try:
                await run._start_all()
            except FlowctlError:
                await run.stop()
                raise
            yield run
            await run.stop()
            nursery.cancel_scope.cancel()


__all__ = ["OutputSink", "PipelineRun", "RunOptions", "open_pipeline"]
