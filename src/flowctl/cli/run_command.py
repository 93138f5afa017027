"""`flowctl run`: the whole pipeline in one command."""

from __future__ import annotations

import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Literal

import trio
from cyclopts import Parameter
from loguru import logger

from flowctl.cli.early_signals import take_received
from flowctl.cli.logging_setup import LogLevel, configure_logging
from flowctl.cli.option_checks import (
    check_exit_code_from,
    check_listen_address,
    check_log_dir,
)
from flowctl.cli.options import STOP_SIGNALS, Duration, Port, PositiveDuration, TlsFile
from flowctl.cli.report import report_error, report_notice
from flowctl.cli.tls_options import server_tls
from flowctl.console.figures import count_of
from flowctl.console.run_console import SUMMARY_INTERVAL, ConsoleOptions, RunConsole
from flowctl.console.status_rows import component_row
from flowctl.console.stdout_buffer import StdoutBuffer
from flowctl.console.terminal_modes import output_kept_through_ctrl_c
from flowctl.discovery import new_record, registered_run
from flowctl.errors import FlowctlError
from flowctl.events import EventBus
from flowctl.exception_groups import first_error_of_type
from flowctl.orchestrator import open_run_guard
from flowctl.orchestrator.routing import RoutingOrchestrator
from flowctl.pipeline import Pipeline, load_pipeline
from flowctl.runner import PipelineRun, RunOptions, open_pipeline

WATCHDOG_GRACE = 1.0  # if flowctl is killed, its components get this long after SIGTERM


def run(
    pipeline: Path = Path("flow.yml"),
    /,
    *,
    control_plane_port: Port = 8080,
    control_plane_address: str = "127.0.0.1",
    log_dir: Path = Path("logs"),
    heartbeat_ttl: PositiveDuration = 30.0,
    janitor_interval: PositiveDuration = 10.0,
    heartbeat_interval: PositiveDuration = 10.0,
    registration_timeout: PositiveDuration = 30.0,
    shutdown_grace: Duration = 10.0,
    orchestrator: Annotated[Literal["process", "container"], Parameter(show=False)] = "process",
    status: bool = True,
    color: bool = True,
    log_level: LogLevel = "info",
    log_format: Literal["text", "json"] = "text",
    summary_interval: Annotated[Duration, Parameter(show=False)] = SUMMARY_INTERVAL,
    tls_cert: TlsFile | None = None,
    tls_key: TlsFile | None = None,
    tls_ca_cert: TlsFile | None = None,
    tls_client_cert: TlsFile | None = None,
    tls_client_key: TlsFile | None = None,
    exit_code_from: str | None = None,
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
        Folder for each component's full output, one COMPONENT-ID.log file each.
    heartbeat_ttl
        A component silent for longer is marked unhealthy.
    janitor_interval
        How often heartbeats are checked.
    heartbeat_interval
        Given to components as FLOWCTL_HEARTBEAT_INTERVAL.
    registration_timeout
        How long every component has to register before the run fails.
    shutdown_grace
        How long components have to stop after SIGTERM before they are killed
        (0: at once).
    orchestrator
        Kept for compatibility; it changes nothing: a component with an `image` runs as a
        container, any other as a process.
    status
        The live status table at the bottom of a terminal (--no-status: logs only).
    color
        Colour in a terminal (--no-color, or NO_COLOR in the environment: none).
    log_level
        The least important of flowctl's own messages shown; component output is always.
    log_format
        text for people, json for programs: one JSON object per line (time, level,
        message, component).
    summary_interval
        Outside a terminal, how often a one-line summary is printed (0: never).
    tls_cert
        The control plane serves TLS only, with this PEM certificate (with --tls-key);
        components get FLOWCTL_TLS_CA_CERT.
    tls_key
        The PEM private key of --tls-cert (unencrypted).
    tls_ca_cert
        Mutual TLS: only clients with a certificate signed by this PEM CA get in; given
        to components as FLOWCTL_TLS_CA_CERT.
    tls_client_cert
        Mutual TLS: the PEM client certificate components show, as FLOWCTL_TLS_CERT
        (with --tls-client-key; a component's env: may bring its own).
    tls_client_key
        Its PEM private key, given to components as FLOWCTL_TLS_KEY.
    exit_code_from
        A component ID: when it exits, the run stops and exits with its status.
    """
    try:
        tls = server_tls(tls_cert, tls_key, tls_ca_cert, tls_client_cert, tls_client_key)
        check_listen_address(control_plane_address)
        check_log_dir(log_dir)
        model = load_pipeline(pipeline)
        check_exit_code_from(exit_code_from, model)
        if tls is not None:
            tls.context()  # a bad file stops here, before anything starts

    except FlowctlError as error:
        # Reported here so that --log-format json holds for a bad file too.
        report_error(error, (), log_format)
        return error.exit_status
    # Everything the run shows goes through this buffer: a reader that stops reading must
    # not stop the trio loop (the control plane, the janitor, Ctrl+C).
    stdout = StdoutBuffer(
        sys.stdout,
        # The run goes on (a pipeline is not stopped by its viewer): say so once.
        on_reader_gone=lambda: report_notice(
            f"output is no longer shown (its reader went away); the run goes on, "
            f"each component's output still goes to {log_dir}/",
            log_format,
        ),
    )
    console = RunConsole(
        ((component.id, component.role.value) for component in model.components),
        ConsoleOptions(
            log_format,
            color,
            status,
            summary_interval,
            jobs=frozenset(component.id for component in model.components if component.job),
        ),
        stdout,
    )
    configure_logging(console.write, log_level)
    options = RunOptions(
        control_plane_host=control_plane_address,
        control_plane_port=control_plane_port,
        log_dir=log_dir,
        heartbeat_ttl=heartbeat_ttl,
        janitor_interval=janitor_interval,
        heartbeat_interval=heartbeat_interval,
        registration_timeout=registration_timeout,
        shutdown_grace=shutdown_grace,
        tls=tls,
        exit_code_from=exit_code_from,
    )
    # A Ctrl+C must not make the terminal discard what the run wrote just before it.
    with output_kept_through_ctrl_c(sys.stdout, sys.stderr):
        try:
            return trio.run(_run, model, options, console, stdout)
        except FlowctlError as error:
            # Reported here, after the live view has gone: with every component's final state.
            now = console.status.now()
            rows = [component_row(state, now) for state in console.status.components.values()]
            started = any(state.pid for state in console.status.components.values())
            report_error(error, rows if started else (), log_format)
            return error.exit_status


async def _run(
    pipeline: Pipeline, options: RunOptions, console: RunConsole, stdout: StdoutBuffer
) -> int:
    # Written out before the exit (the failure report follows it), unless the reader is
    # stalled: then after EXIT_STALL, only the screen copy is lost, the logs have all.
    failure: FlowctlError | None = None
    async with stdout.draining():
        try:
            return await _run_with_console(pipeline, options, console)
        except FlowctlError as error:
            failure = error  # raised outside the nursery, so not wrapped in a group
    assert failure is not None
    raise failure


async def _run_with_console(pipeline: Pipeline, options: RunOptions, console: RunConsole) -> int:
    events = EventBus()
    lifecycle = events.subscribe(heartbeats=console.heartbeat)
    failure: FlowctlError | None = None
    status = 0
    async with trio.open_nursery() as console_tasks:
        await console_tasks.start(console.run, lifecycle)
        try:
            status = await _run_pipeline(pipeline, options, console, events)
        except FlowctlError as error:
            failure = error  # raised outside the nursery, so not wrapped in a group
        except BaseExceptionGroup as group:
            # Several errors at once (the library unwraps lone ones): the user needs the one
            # flowctl can explain; anything else is a bug and keeps its traceback.
            failure = first_error_of_type(group, FlowctlError)
            if failure is None:
                raise
        finally:
            console_tasks.cancel_scope.cancel()
    if failure is not None:
        raise failure
    logger.info("stopped")
    return status


async def _run_pipeline(
    pipeline: Pipeline, options: RunOptions, console: RunConsole, events: EventBus
) -> int:
    """The run's exit status when it ends without a failure: 0, or with --exit-code-from
    that component's."""
    # Signals are caught from the very start, so that Ctrl+C during start-up stops cleanly too.
    with trio.open_signal_receiver(*STOP_SIGNALS) as signals:
        # Noted before the receiver was open (see early_signals): stop before starting.
        early = take_received()
        if early:
            logger.info(f"{signal.Signals(early[0]).name} received: stopping")
            return 0
        async with (
            # The watchdog and the subreaper: no process of the run outlives flowctl.
            open_run_guard(watchdog_grace=min(options.shutdown_grace, WATCHDOG_GRACE)) as guard,
            open_pipeline(
                pipeline,
                options=options,
                output=console.component_line,
                events=events,
                orchestrator=RoutingOrchestrator(events, options.shutdown_grace, guard),
            ) as run,
            trio.open_nursery() as nursery,
        ):
            nursery.start_soon(_handle_signals, signals, run, console)
            # https://: `flowctl list` finds the run and knows to speak TLS to it.
            endpoint = f"https://{run.endpoint}" if options.tls else run.endpoint
            record = new_record(
                pipeline.name, str(pipeline.file), endpoint, len(pipeline.components)
            )
            with registered_run(record):
                if await run.wait_ready() and run.registering:
                    logger.info(f"all {count_of(len(run.registering), 'component')} registered")
                await run.wait()
            nursery.cancel_scope.cancel()
        _say_why_it_ended(run)
        return run.exit_status


def _say_why_it_ended(run: PipelineRun) -> None:
    if run.ended_by == "completed":
        logger.info(f"all {count_of(len(run.components), 'component')} completed")
    elif run.ended_by is not None:
        logger.info(f"{run.ended_by}: the run ends with status {run.exit_status}")


async def _handle_signals(
    signals: AsyncIterator[int], run: PipelineRun, console: RunConsole
) -> None:
    """First signal: graceful stop in reverse dependency order. Second: kill everything."""
    async with trio.open_nursery() as nursery:
        async for signum in signals:
            console.stop_waiting()  # no component may stay blocked on a stalled stdout
            if signum == signal.SIGINT:
                console.start_fresh_line()  # not after the ^C the terminal echoed
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
