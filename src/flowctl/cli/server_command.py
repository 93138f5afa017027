"""`flowctl server` (hidden): the control plane alone, as the original tool ran it."""

from __future__ import annotations

import signal

import trio
from loguru import logger

from flowctl.cli.logging_setup import configure_logging
from flowctl.cli.options import Duration
from flowctl.console.run_console import ConsoleOptions, RunConsole
from flowctl.controlplane import open_control_plane
from flowctl.events import EventBus


def server(
    *,
    port: int = 8080,
    address: str = "127.0.0.1",
    heartbeat_ttl: Duration = 30.0,
    janitor_interval: Duration = 10.0,
) -> int:
    """Run the control plane alone (in memory) until Ctrl+C or SIGTERM.

    Parameters
    ----------
    port
        Port to listen on; 0 picks a free one.
    address
        Address to listen on.
    heartbeat_ttl
        A service silent for longer is marked unhealthy.
    janitor_interval
        How often heartbeats are checked.
    """
    # No pipeline, so no status table: the events as log lines.
    console = RunConsole([], ConsoleOptions(status_view=False, summary_interval=0))
    configure_logging(console.write)
    return trio.run(_serve, console, address, port, heartbeat_ttl, janitor_interval)


async def _serve(
    console: RunConsole, address: str, port: int, heartbeat_ttl: float, janitor_interval: float
) -> int:
    events = EventBus()
    lifecycle = events.subscribe()
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM, signal.SIGHUP) as signals:
        async with (
            open_control_plane(
                host=address,
                port=port,
                heartbeat_ttl=heartbeat_ttl,
                janitor_interval=janitor_interval,
                events=events,
            ) as control_plane,
            trio.open_nursery() as nursery,
        ):
            logger.info(f"control plane listening on {control_plane.endpoint}")
            nursery.start_soon(console.run, lifecycle)
            async for signum in signals:
                logger.info(f"{signal.Signals(signum).name} received: stopping")
                break
            nursery.cancel_scope.cancel()
    return 0
