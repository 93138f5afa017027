"""`flowctl run`: the whole pipeline in one command."""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Literal

import trio
from loguru import logger

from flowctl.cli.logging_setup import configure_logging, log_events
from flowctl.cli.options import Duration
from flowctl.console.log_printer import LogPrinter
from flowctl.discovery import new_record, registered_run
from flowctl.errors import UsageError
from flowctl.events import EventBus
from flowctl.pipeline import Pipeline, load_pipeline
from flowctl.runner import PipelineRun, RunOptions, open_pipeline

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def run(
    pipeline: Path = Path("flow.yml"),
    /,
    *,
    control_plane_port: int = 8080,
    control_plane_address: str = "127.0.0.1",
    log_dir: Path = Path("logs"),
    heartbeat_ttl: Duration = 30.0,
    janitor_interval: Duration = 10.0,
    heartbeat_interval: Duration = 10.0,
    registration_timeout: Duration = 30.0,
    shutdown_grace: Duration = 10.0,
    orchestrator: Literal["process", "container"] = "process",
) -> int:
    """Run a pipeline: control plane, every component, logs, until Ctrl+C or a failure.

    Parameters
    ----------
    pipeline
        The pipeline file.
    control_plane_port
        Port of the embedded control plane; 0 picks a free one.
    control_plane_address
        Address the control plane listens on.
    log_dir
        Folder for each component's full output, <log-dir>/<component-id>.log.
    heartbeat_ttl
        A component silent for longer is marked unhealthy.
    janitor_interval
        How often heartbeats are checked.
    heartbeat_interval
        Given to components as FLOWCTL_HEARTBEAT_INTERVAL.
    registration_timeout
        How long every component has to register before the run fails.
    shutdown_grace
        How long components have to stop after SIGTERM before they are killed.
    orchestrator
        How components run: as local processes (container is not available yet).
    """
    if orchestrator == "container":
        raise UsageError(
            "--orchestrator container is not available yet; use --orchestrator process"
        )
    model = load_pipeline(pipeline)
    options = RunOptions(
        control_plane_host=control_plane_address,
        control_plane_port=control_plane_port,
        log_dir=log_dir,
        heartbeat_ttl=heartbeat_ttl,
        janitor_interval=janitor_interval,
        heartbeat_interval=heartbeat_interval,
        registration_timeout=registration_timeout,
        shutdown_grace=shutdown_grace,
    )
    printer = LogPrinter(component.id for component in model.components)
    configure_logging(printer)
    return trio.run(_run, model, options, printer)


async def _run(pipeline: Pipeline, options: RunOptions, printer: LogPrinter) -> int:
    events = EventBus()
    lifecycle = events.subscribe()
    # Signals are caught from the very start, so that Ctrl+C during start-up stops cleanly too.
    with trio.open_signal_receiver(*STOP_SIGNALS) as signals:
        async with (
            open_pipeline(
                pipeline, options=options, output=printer.component_line, events=events
            ) as run,
            trio.open_nursery() as nursery,
        ):
            nursery.start_soon(log_events, lifecycle)
            nursery.start_soon(_handle_signals, signals, run)
            logger.info(f"control plane listening on {run.endpoint}")
            record = new_record(pipeline.name, str(pipeline.file), run.endpoint)
            with registered_run(record):
                if await run.wait_ready():
                    logger.info(f"all {len(run.components)} components registered")
                await run.wait()
            nursery.cancel_scope.cancel()
    logger.info("stopped")
    return 0


async def _handle_signals(signals: AsyncIterator[int], run: PipelineRun) -> None:
    """First signal: graceful stop in reverse dependency order. Second: kill everything."""
    async with trio.open_nursery() as nursery:
        async for signum in signals:
            if not run.stopping:
                name = signal.Signals(signum).name
                logger.info(
                    f"{name} received: stopping (again to kill at once, "
                    f"grace {run.options.shutdown_grace:g}s)"
                )
                nursery.start_soon(run.stop)
            else:
                logger.warning("killing every component now")
                run.kill_all()
