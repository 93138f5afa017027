"""`flowctl server` (hidden): the control plane alone, as the original tool ran it, with
its registry kept in a file so that components survive a restart of the server."""

from __future__ import annotations

import signal
import sys
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Literal

import trio
from loguru import logger

from flowctl.cli.logging_setup import LogLevel, configure_logging
from flowctl.cli.options import STOP_SIGNALS, Port, PositiveDuration, TlsFile
from flowctl.cli.tls_options import server_tls
from flowctl.console.run_console import ConsoleOptions, RunConsole
from flowctl.console.stdout_buffer import StdoutBuffer
from flowctl.controlplane import InMemoryStorage, SqliteStorage, Storage, open_control_plane
from flowctl.controlplane.private_files import PRIVATE_FOLDER, make_private
from flowctl.controlplane.tls import ServerTls
from flowctl.errors import UsageError
from flowctl.events import EventBus

FLOWCTL_HOME = "~/.flowctl"
DEFAULT_DB_PATH = f"{FLOWCTL_HOME}/registry.sqlite3"


def server(
    *,
    port: Port = 8080,
    address: str = "127.0.0.1",
    heartbeat_ttl: PositiveDuration = 30.0,
    janitor_interval: PositiveDuration = 10.0,
    db_path: Path | None = None,
    persistence: bool = True,
    log_level: LogLevel = "info",
    log_format: Literal["text", "json"] = "text",
    tls_cert: TlsFile | None = None,
    tls_key: TlsFile | None = None,
    tls_ca_cert: TlsFile | None = None,
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
    log_level
        The least important of flowctl's own messages shown.
    log_format
        text for people, json for programs: one JSON object per line (time, level,
        message).
    tls_cert
        Serve TLS only, with this PEM certificate (with --tls-key).
    tls_key
        The PEM private key of --tls-cert (unencrypted).
    tls_ca_cert
        Mutual TLS: only clients with a certificate signed by this PEM CA get in.
    """
    if not persistence and db_path is not None:
        raise UsageError("--db-path and --no-persistence cannot be used together")
    tls = server_tls(tls_cert, tls_key, tls_ca_cert)
    if tls is not None:
        tls.context()  # a bad file stops here, before the registry file or the port
    # No pipeline, so no status table: the events as log lines.
    # Through the buffer, as `flowctl run`: a stalled reader must not stop the server.
    stdout = StdoutBuffer(sys.stdout)
    options = ConsoleOptions(log_format, status_view=False, summary_interval=0, pipeline=False)
    console = RunConsole([], options, stdout)
    configure_logging(console.write, log_level)
    registry_file = (db_path or Path(DEFAULT_DB_PATH)) if persistence else None
    with _open_storage(registry_file) as storage:
        return trio.run(
            _serve, console, stdout, storage, address, port, heartbeat_ttl, janitor_interval, tls
        )


def _open_storage(db_path: Path | None) -> AbstractContextManager[Storage]:
    """The registry file (RegistryUnavailable when unusable), or memory when None."""
    if db_path is None:
        logger.info("registry: in memory")
        return nullcontext(InMemoryStorage())
    path = db_path.expanduser().absolute()
    _tighten_flowctl_home(path.parent)
    storage = SqliteStorage(path)
    logger.info(f"registry: {storage.path} ({_services(storage.reloaded)} reloaded)")
    return storage


def _tighten_flowctl_home(folder: Path) -> None:
    """~/.flowctl is flowctl's: made private even when an older flowctl (or someone else)
    created it open. Other folders are the user's choice, and left as they are."""
    if folder != Path(FLOWCTL_HOME).expanduser().absolute() or not folder.is_dir():
        return
    try:
        make_private(folder, PRIVATE_FOLDER)
    except OSError as error:
        logger.warning(f"cannot make {folder} private (mode 0700): {error.strerror}")


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
    tls: ServerTls | None,
) -> int:
    events = EventBus()
    lifecycle = events.subscribe(heartbeats=console.heartbeat)
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
                tls=tls,
            ),
            trio.open_nursery() as nursery,
        ):
            nursery.start_soon(console.run, lifecycle)
            async for signum in signals:
                logger.info(f"{signal.Signals(signum).name} received: stopping")
                break
            nursery.cancel_scope.cancel()
    return 0
