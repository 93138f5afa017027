"""PipelineRunner: one nursery that holds the control plane, every component and the barrier.

    async with open_pipeline("pipeline.yaml", control_plane_port=0) as run:
        await run.wait_ready()      # the registration barrier
        await run.wait_metric("src", "total_processed", lambda n: n >= 10)
        await run.wait()            # until run.stop(), or a failure is raised

Components that wait for nothing start before the block begins; every other one starts
once everything in its `inputs` and `depends_on` has registered (compose's
`condition: service_healthy`), so the pipeline comes up level by level. A task in the
nursery does it, woken by registrations (no polling), and the registration timeout bounds
all of it, from the first start to the last registration.

Any failure (a component exits, the barrier times out) first stops the components in
reverse dependency order within one grace period, then raises a typed error out of the
`async with`. Leaving the block stops everything the same way. If the block is cancelled
from outside, the orchestrator's cancellation path kills every process group instead, so
no path leaves a process behind.
"""

from __future__ import annotations

import math
import os
from collections.abc import AsyncIterator, Callable, Collection, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import trio
from loguru import logger

from flowctl.controlplane import EmbeddedControlPlane, open_control_plane
from flowctl.controlplane.tls import ServerTls
from flowctl.errors import ComponentFailed, FlowctlError, RunStopped
from flowctl.events import ComponentCompleted, ComponentRestarting, EventBus
from flowctl.exception_groups import lone_exceptions_unwrapped
from flowctl.orchestrator import (
    LaunchSpec,
    Orchestrator,
    OutputSink,
    RunningComponent,
)
from flowctl.orchestrator.routing import RoutingOrchestrator
from flowctl.pipeline import Component, Pipeline, load_pipeline
from flowctl.runner.attach import PipelineAttacher
from flowctl.runner.component_view import ComponentBoard, ComponentView, all_healthy
from flowctl.runner.environment import (
    check_can_start,
    component_environment,
    container_environment,
    container_spec,
)
from flowctl.runner.restarts import RestartBudget
from flowctl.runner.run_notes import RunNotes
from flowctl.runner.start_wait import registration_timeout
from flowctl.runner.tail import OutputTail


@dataclass(frozen=True)
class RunOptions:
    """How `open_pipeline` runs a pipeline: the `flowctl run` options, in seconds.

    `control_plane_port=0` picks a free port (what tests want); `log_dir` gets one
    `<component-id>.log` per component. Change a field with `dataclasses.replace`.
    """

    control_plane_host: str = "127.0.0.1"
    control_plane_port: int = 8080
    log_dir: Path = Path("logs")
    heartbeat_ttl: float = 30.0
    janitor_interval: float = 10.0
    heartbeat_interval: float = 10.0  # given to components as FLOWCTL_HEARTBEAT_INTERVAL
    registration_timeout: float = 30.0
    shutdown_grace: float = 10.0
    # TLS for the control plane (off: plain text); components learn it from FLOWCTL_TLS_*.
    tls: ServerTls | None = None
    # When this component exits, the run stops and its status is the run's (compose's
    # --exit-code-from); no restart policy applies to it.
    exit_code_from: str | None = None


async def _discard(component_id: str, stream: str, line: str) -> None:
    return None


class PipelineRun:
    """A running pipeline, yielded by `open_pipeline` (never constructed directly).

    `components` shows each component live; `wait_ready`, `wait_healthy` and
    `wait_metric` wait for what a test or a program needs, woken by the run's events
    (no polling). Every wait is cancelled by the caller's cancel scope (wrap it in
    `trio.fail_after`); when the run fails meanwhile, the failure (ComponentFailed,
    RegistrationTimeout) is raised out of the `async with` block instead.
    """

    def __init__(
        self,
        pipeline: Pipeline,
        control_plane: EmbeddedControlPlane,
        options: RunOptions,
        orchestrator: Orchestrator,
        events: EventBus,
        nursery: trio.Nursery,
        output: OutputSink,
        attacher: PipelineAttacher | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.control_plane = control_plane
        self.options = options
        self.events = events
        # The processes started so far, for the runner; users read `components`.
        self._running: dict[str, RunningComponent] = {}
        self._board = ComponentBoard((c.id, c.role.value) for c in pipeline.components)
        events.listen(self._board.apply)
        # `flowctl list` shows restarts and completed jobs, as `components` does.
        events.listen(RunNotes(control_plane.registry).apply)
        self.failure: FlowctlError | None = None
        self._orchestrator = orchestrator
        self._nursery = nursery
        self._output = output
        self._tail = OutputTail()
        self._stop_requested = trio.Event()
        self._stopped = trio.Event()
        self._ready = trio.Event()  # every component has registered
        # The start of the components that wait for others, and the barrier: bounded by the
        # registration timeout, cancelled by a stop (which waits for it to end first).
        self._bring_up = trio.CancelScope()
        self._bring_up_done: trio.Event | None = None
        self._start_failure: FlowctlError | None = None
        self._attacher = attacher
        # Jobs (`job: true`): set when one completed; what lists it in inputs waits for it.
        self._completed = {c.id: trio.Event() for c in pipeline.components if c.job}
        # Jobs that others wait for and that have not completed: their run time is not
        # counted against the registration timeout.
        self._awaited_jobs_running: set[str] = set()
        # The run's exit status when it ends without a failure (--exit-code-from sets it).
        self.exit_status = 0
        self.ended_by: str | None = None  # why it ended by itself: "completed", or the exit

    @property
    def endpoint(self) -> str:
        """The control plane as `host:port`, as components get it in FLOWCTL_ENDPOINT."""
        return self.control_plane.endpoint

    @property
    def components(self) -> Mapping[str, ComponentView]:
        """Every component of the pipeline by id, in declaration order, live: its state,
        pid, registration, last metrics and exit status. Read-only; each view is frozen
        and replaced when the component changes."""
        return self._board.views

    @property
    def registering(self) -> list[str]:
        """The components the barrier waits for: all but jobs, which need not register."""
        return [component.id for component in self.pipeline.components if not component.job]

    @property
    def stopping(self) -> bool:
        return self._stop_requested.is_set()

    def last_lines(self, component_id: str) -> list[str]:
        """The last lines (up to 20) the component printed, stdout and stderr."""
        return self._tail.last(component_id)

    async def wait_ready(self) -> bool:
        """The registration barrier: wait until every component has registered.

        Returns True when all registered, False when a stop was requested first. When the
        registration timeout (counted from the first start) expires, everything is stopped
        and RegistrationTimeout is raised from the `async with` block.
        """
        async with trio.open_nursery() as nursery:

            async def until(event: trio.Event) -> None:
                await event.wait()
                nursery.cancel_scope.cancel()

            nursery.start_soon(until, self._ready)
            nursery.start_soon(until, self._stop_requested)
        await self._unless_failed()
        return not self.stopping

    async def wait_healthy(self, ids: Collection[str] | None = None) -> None:
        """Wait until every component in `ids` is registered and healthy at the same time;
        a job (`job: true`) counts once it is healthy or has completed.

        Without `ids`: the long-running components, every one but the jobs. A job is not
        waited for: it need not register and it is meant to end. Whatever needs a job's
        work lists it in `inputs` (or `depends_on`) and starts only once it completed, so
        waiting for that component waits for the job too. A pipeline made only of jobs
        leaves nothing to wait for: this returns at once (`wait()` waits for its end).

        Raises ValueError for an id that is not a component, RunStopped when the run stops
        first; a component that exits fails the run, whose error leaves the block.
        """
        wanted = self.registering if ids is None else self._known(ids)
        await self._wait_for(
            lambda views: all_healthy(views, wanted), f"{', '.join(wanted)} to be healthy"
        )

    async def wait_metric(
        self,
        component_id: str,
        name: str,
        predicate: Callable[[float], bool] = lambda value: True,
    ) -> float:
        """Wait for a heartbeat of `component_id` whose metric `name` satisfies
        `predicate`, and return that value. Every heartbeat is checked as it arrives.

        Raises ValueError for an unknown component, RunStopped when the run stops first,
        and whatever `predicate` raises; a component that exits fails the run.
        """
        (cid,) = self._known([component_id])
        seen: list[float] = []

        def metric_matches(views: Mapping[str, ComponentView]) -> bool:
            value = views[cid].metrics.get(name)
            if value is not None and predicate(value):
                seen.append(value)
                return True
            return False

        await self._wait_for(metric_matches, f"metric {name!r} of {cid!r}")
        return seen[0]

    def _known(self, ids: Collection[str] | None) -> list[str]:
        if ids is None:
            return list(self.components)
        if isinstance(ids, str):  # wait_healthy("src"): one id, not its letters
            ids = [ids]
        unknown = [cid for cid in ids if cid not in self.components]
        if unknown:
            raise ValueError(
                f"not a component of pipeline {self.pipeline.name!r}: {', '.join(unknown)} "
                f"(its components: {', '.join(self.components)})"
            )
        return list(ids)

    async def _wait_for(
        self, condition: Callable[[Mapping[str, ComponentView]], bool], what: str
    ) -> None:
        async def give_up() -> None:
            await self._unless_failed()
            if self.stopping:
                raise RunStopped(what)

        await self._board.wait_until(condition, give_up)

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
        self._board.poke()  # waits that can no longer succeed end now
        with trio.CancelScope(shield=True):
            # No component may start once the stop has begun: it would miss its turn.
            self._bring_up.cancel()
            if self._bring_up_done is not None:
                await self._bring_up_done.wait()
            await self._stop_in_order()
        self._stopped.set()

    def kill_all(self) -> None:
        """Kill every process group now (a second Ctrl+C)."""
        for component in self._running.values():
            component.kill()

    async def _stop_in_order(self) -> None:
        deadline = trio.current_time() + self.options.shutdown_grace
        with trio.move_on_at(deadline):
            for level in reversed(self.pipeline.start_levels()):
                async with trio.open_nursery() as nursery:
                    for component in level:
                        running = self._running.get(component.id)
                        if running is not None and running.exit_status is None:
                            grace = max(0.0, deadline - trio.current_time())
                            nursery.start_soon(running.stop, grace)
        # Past the grace period: whatever survives is killed, then reaped.
        self.kill_all()
        with trio.move_on_after(5):
            for running in self._running.values():
                await running.wait()

    async def _fail(self, error: FlowctlError) -> None:
        if self.failure is None and not self.stopping:
            self.failure = error
        await self.stop()
        if self.failure is error:
            raise error

    async def _start_first_level(self) -> None:
        """Start what waits for nothing, and set the clock of the registration timeout."""
        self._bring_up.deadline = trio.current_time() + self.options.registration_timeout
        for component in self.pipeline.start_order():
            if not component.waits_for and not self.stopping:
                await self._start(component)

    def _begin_bring_up(self) -> None:
        self._bring_up_done = trio.Event()
        self._nursery.start_soon(self._bring_up_the_rest)

    async def _bring_up_the_rest(self) -> None:
        """Start each other component once what it waits for has registered, then wait for
        every registration; a timeout, or a component that cannot start, fails the run."""
        assert self._bring_up_done is not None
        registry = self.control_plane.registry
        try:
            with self._bring_up:
                async with trio.open_nursery() as starts:
                    for component in self.pipeline.start_order():
                        if component.id not in self._running:
                            starts.start_soon(self._start_when_ready, component)
                await registry.wait_for(self.registering)
                self._ready.set()
        finally:
            self._bring_up_done.set()
        if self._start_failure is not None:
            await self._fail(self._start_failure)
        elif not self._ready.is_set() and not self.stopping:
            await self._fail(
                registration_timeout(
                    self.pipeline,
                    self._running,
                    registry,
                    self.options.registration_timeout,
                    self.registering,
                )
            )

    async def _start_when_ready(self, component: Component) -> None:
        # A job it waits for must have completed (compose's service_completed_successfully);
        # anything else, registered.
        jobs = [cid for cid in component.waits_for if cid in self._completed]
        services = [cid for cid in component.waits_for if cid not in self._completed]
        await self.control_plane.registry.wait_for(services)
        for job in jobs:
            await self._completed[job].wait()
        if self.stopping:
            return
        try:
            await self._start(component)
        except FlowctlError as error:
            self._start_failure = self._start_failure or error
            self._bring_up.cancel()

    async def _start(self, component: Component) -> None:
        running = await self._launch(component)
        self._nursery.start_soon(self._supervise, component, running)

    async def _launch(self, component: Component) -> RunningComponent:
        log_dir = self.options.log_dir
        environment = component_environment(
            component,
            endpoint=self.endpoint,
            heartbeat_interval=self.options.heartbeat_interval,
            tls=self.options.tls,
            parent={} if component.container else None,
        )
        spec = LaunchSpec(
            component_id=component.id,
            argv=component.command,
            env=container_environment(environment) if component.container else environment,
            cwd=component.working_dir,
            log_path=log_dir / f"{component.id}.log",
            container=container_spec(component.container) if component.container else None,
        )
        # Shielded: a process half started when a stop comes would be known to nobody.
        with trio.CancelScope(shield=True):
            running = await self._orchestrator.start(spec, self._nursery, self._on_output)
        self._running[component.id] = running
        if component.job and self._is_awaited(component):
            self._awaited_jobs_running.add(component.id)
            self._bring_up.deadline = math.inf  # the wait for a job is not a registration's
        return running

    def _is_awaited(self, component: Component) -> bool:
        return any(component.id in other.waits_for for other in self.pipeline.components)

    async def _on_output(self, component_id: str, stream: str, line: str) -> None:
        self._tail.add(component_id, line)
        await self._output(component_id, stream, line)

    async def _supervise(self, component: Component, running: RunningComponent) -> None:
        """The component's own task: it watches each process and applies the component's
        policy to its exit (complete, restart, end the run, or fail it). A failure cancels
        the nursery, and with it everything, as any other failure does."""
        budget = RestartBudget(component.restart)
        while True:
            started_at = trio.current_time()
            status = await running.wait()
            if running.stop_requested or self.stopping:
                return
            if component.id == self.options.exit_code_from:
                await self._end_with(component, status.returncode, status.describe())
                return
            if component.job and status.returncode == 0:
                await self._complete(component)
                return
            ran_for = trio.current_time() - started_at
            registered = self._board.views[component.id].registration is not None
            delay = budget.next_delay(status.returncode, status.describe(), ran_for)
            if delay is None:
                when = "after it registered" if registered else "before it registered"
                await self._fail(
                    ComponentFailed(
                        component.id,
                        f"{status.describe()} {when}{budget.gave_up()}",
                        self._tail.last(component.id),
                        str(self.options.log_dir / f"{component.id}.log"),
                    )
                )
                return
            if self._attacher is not None:
                self._attacher.mark_restarted(component.id)
            self.events.publish(
                ComponentRestarting(
                    component.id,
                    budget.restarts,
                    component.restart.max_restarts,
                    delay,
                    status.describe(),
                )
            )
            await trio.sleep(delay)
            if self.stopping:
                return
            try:
                running = await self._launch(component)
            except FlowctlError as error:
                await self._fail(error)
                return
            if self.stopping:  # the stop began while it started: it missed its turn
                await running.stop(self.options.shutdown_grace)
                return

    async def _complete(self, component: Component) -> None:
        """A job exited 0: what waits for it may start; when every component has completed,
        the run is done."""
        self._completed[component.id].set()
        self.events.publish(ComponentCompleted(component.id))
        if component.id in self._awaited_jobs_running:
            self._awaited_jobs_running.discard(component.id)
            if not self._awaited_jobs_running:
                deadline = trio.current_time() + self.options.registration_timeout
                self._bring_up.deadline = deadline
        if len(self._completed) == len(self.pipeline.components) and all(
            done.is_set() for done in self._completed.values()
        ):
            self.ended_by = "completed"
            await self.stop()

    async def _end_with(self, component: Component, returncode: int, how: str) -> None:
        """--exit-code-from: its exit ends the run, and is the run's status (a signal N
        gives 128+N, as a shell says it)."""
        self.exit_status = returncode if returncode >= 0 else 128 - returncode
        self.ended_by = f"{component.id} {how}"
        if component.id in self._completed and returncode == 0:
            self._completed[component.id].set()
            self.events.publish(ComponentCompleted(component.id))
        await self.stop()


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
    """Run a pipeline for the duration of the block: start its control plane and its
    components, and stop them all (sinks first, within `shutdown_grace`) when it ends.

    `pipeline` is a file (loaded, `${VARIABLES}` expanded from `parent_env`, default the
    process environment) or a loaded Pipeline; `output` receives every line a component
    prints (they always go to `<log_dir>/<id>.log`). Components that wait for nothing are
    started before the block begins, the others once their inputs registered.

    Raises PipelineError (a bad file), ComponentStartError (a command or folder that does
    not exist), PortInUse, and out of the block ComponentFailed (a component exited) or
    RegistrationTimeout. Cancelling the block kills every component's process group.
    """
    if not isinstance(pipeline, Pipeline):
        pipeline = load_pipeline(pipeline, parent_env)
    options = options or RunOptions()
    check_can_start(pipeline, parent_env)
    for warning in pipeline.warnings:
        logger.warning(warning)
    events = events or EventBus()
    orchestrator = orchestrator or RoutingOrchestrator(
        events=events, cancel_grace=options.shutdown_grace
    )
    if isinstance(orchestrator, RoutingOrchestrator):  # no image missing, before any start
        try:
            await orchestrator.check_images(
                {c.id: container_spec(c.container) for c in pipeline.components if c.container}
            )
        except BaseException:
            await orchestrator.aclose()
            raise
    # flowctl's orchestrators mark their processes (run_tag.py); with another, attachment
    # goes by the process tree alone.
    run_id: str | None = getattr(orchestrator, "run_id", None)
    attacher = PipelineAttacher(pipeline, run_id=run_id)
    if options.exit_code_from is not None and options.exit_code_from not in {
        component.id for component in pipeline.components
    }:
        raise ValueError(
            f"exit_code_from: {options.exit_code_from!r} is not a component of pipeline "
            f"{pipeline.name!r}"
        )
    with lone_exceptions_unwrapped():
        try:
            async with (
                open_control_plane(
                    host=options.control_plane_host,
                    port=options.control_plane_port,
                    heartbeat_ttl=options.heartbeat_ttl,
                    janitor_interval=options.janitor_interval,
                    attacher=attacher,
                    events=events,
                    tls=options.tls,
                    # `flowctl list` shows the services in the live view's order.
                    component_order=[component.id for component in pipeline.components],
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
                    attacher,
                )
                attacher.follow(run._running)  # attachment by process needs the main pids
                try:
                    await run._start_first_level()
                except FlowctlError:
                    await run.stop()
                    raise
                run._begin_bring_up()
                yield run
                await run.stop()
                nursery.cancel_scope.cancel()
        finally:
            # After the nursery: a container's tasks use the engine until they have ended.
            if isinstance(orchestrator, RoutingOrchestrator):
                await orchestrator.aclose()  # the container engine's connections


__all__ = ["OutputSink", "PipelineRun", "RunOptions", "open_pipeline"]
