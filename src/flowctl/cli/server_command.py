"""`flowctl server` (hidden): the control plane alone, as the original tool ran it, with
its registry kept in a file so that components survive a restart of the server."""

from __future__ import annotations

import signal
import sys
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

import trio
from loguru import logger

from flowctl.cli.logging_setup import configure_logging
from flowctl.cli.options import STOP_SIGNALS, Duration
from flowctl.console.run_console import ConsoleOptions, RunConsole
from flowctl.console.stdout_buffer import StdoutBuffer
from flowctl.controlplane import InMemoryStorage, SqliteStorage, Storage, open_control_plane
from flowctl.errors import UsageError
from flowctl.events import EventBus

DEFAULT_DB_PATH = "~/.flowctl/registry.sqlite3"


def server(
    *,
    port: int = 8080,
    address: str = "127.0.0.1",
    heartbeat_ttl: Duration = 30.0,
    janitor_interval: Duration = 10.0,
    db_path: Path | None = None,
    persistence: bool = True,
) -> int:
    """Run the control plane alone until Ctrl+C or SIGTERM.

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
    db_path
        File the registry is kept in and reloaded from at start
        (default ~/.flowctl/registry.sqlite3).
    persistence
        Keep the registry in --db-path (--no-persistence: in memory only).
    """
    if not persistence and db_path is not None:
        raise UsageError("--db-path and --no-persistence cannot be used together")
    # No pipeline, so no status table: the events as log lines.
    # Through the buffer, as `flowctl run`: a stalled reader must not stop the server.
    stdout = StdoutBuffer(sys.stdout)
    console = RunConsole([], ConsoleOptions(status_view=False, summary_interval=0), stdout)
    configure_logging(console.write)
    registry_file = (db_path or Path(DEFAULT_DB_PATH)) if persistence else None
    with _open_storage(registry_file) as storage:
        return trio.run(
            _serve, console, stdout, storage, address, port, heartbeat_ttl, janitor_interval
        )


def _open_storage(db_path: Path | None) -> AbstractContextManager[Storage]:
    """The registry file (RegistryUnavailable when unusable), or memory when None."""
    if db_path is None:
        logger.info("registry: in memory")
        return nullcontext(InMemoryStorage())
    storage = SqliteStorage(db_path.expanduser().absolute())
    logger.info(f"registry: {storage.path} ({_services(storage.reloaded)} reloaded)")
    return storage


def _services(count: int) -> str:
    return f"{count} service" if count == 1 else f"{count} services"


async def _serve(
    console: RunConsole,
    stdout: StdoutBuffer,
    storage: Storage,
    address: str,
    port: int,
    heartbeat_ttl: float,
    janitor_interval: float,
) -> int:
    events = EventBus()
    lifecycle = events.subscribe()
    with trio.open_signal_receiver(*STOP_SIGNALS) as signals:
        async with (
            stdout.draining(),
            open_control_plane(
                host=address,
                port=port,
                heartbeat_ttl=heartbeat_ttl,
                janitor_interval=janitor_interval,
                events=events,
                storage=storage,
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
