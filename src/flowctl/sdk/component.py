"""`run_component`: the whole life of a component program, from environment to exit status."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from contextlib import suppress
from typing import Any

from flowctl._proto import flowctl as pb
from flowctl.errors import FlowctlError
from flowctl.sdk.client import (
    ControlPlaneClient,
    MetricsSource,
    ServiceDescription,
    service_type_from,
)
from flowctl.sdk.settings import ComponentSettings

log = logging.getLogger("flowctl.sdk")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_ENVIRONMENT = 2
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
# How long cancelled work may take to unwind before we exit without it.
_WORK_CANCEL_GRACE = 2.0


class StopToken:
    """Tells `work` that the component is asked to stop (SIGTERM, SIGINT).

    run_component also cancels `work` right after setting it, so plain `await` points are
    enough; the token is for loops that prefer to check, and for an interruptible sleep.
    """

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self.reason = ""

    @property
    def is_set(self) -> bool:
        return self._event.is_set()

    def set(self, reason: str = "stop requested") -> None:
        if not self._event.is_set():
            self.reason = reason
            self._event.set()

    async def wait(self) -> None:
        await self._event.wait()

    async def sleep(self, seconds: float) -> bool:
        """Sleep up to `seconds`; return True if a stop was requested meanwhile."""
        with suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._event.wait()
        return self._event.is_set()


Work = Callable[[StopToken], Awaitable[None]]


def run_component(
    *,
    service_type: pb.ServiceType | str,
    input_event_types: Sequence[str] = (),
    output_event_types: Sequence[str] = (),
    metrics: MetricsSource | None = None,
    work: Work | None = None,
    metadata: Mapping[str, str] | None = None,
    settings: ComponentSettings | None = None,
    configure_logging: bool = True,
) -> int:
    """Run a component program and return its exit status (pass it to `sys.exit`).

    0: `work` returned, or SIGTERM/SIGINT stopped the component. 1: `work` raised, or the
    control plane could not be registered with. 2: the FLOWCTL_* environment is unusable.
    """
    if configure_logging:
        _configure_logging()
    try:
        settings = settings or ComponentSettings.from_env()
    except ValueError as error:
        log.error("bad flowctl environment: %s", error)
        return EXIT_BAD_ENVIRONMENT
    try:
        service = ServiceDescription(
            service_type=service_type_from(service_type),
            input_event_types=tuple(input_event_types),
            output_event_types=tuple(output_event_types),
            metadata=dict(metadata or {}),
        )
    except ValueError as error:
        log.error("%s", error)
        return EXIT_BAD_ENVIRONMENT
    return asyncio.run(_run(settings, service, metrics, work))


async def _run(
    settings: ComponentSettings,
    service: ServiceDescription,
    metrics: MetricsSource | None,
    work: Work | None,
) -> int:
    stop = StopToken()
    _stop_on_signals(stop)
    async with ControlPlaneClient(settings, service) as client:
        background: list[asyncio.Task[None]] = []
        try:
            if settings.enabled:
                try:
                    registered = await _unless_stopped(client.register(), stop)
                except FlowctlError as error:
                    log.error("%s", error)
                    return EXIT_FAILED
                if not registered:
                    return EXIT_OK
                background.append(asyncio.create_task(client.heartbeat_forever(metrics)))
            else:
                log.info("ENABLE_FLOWCTL is not true: running without a control plane")
            if work is not None:
                background.append(asyncio.create_task(_as_coroutine(work(stop))))
            return await _until_first_ends(background, stop)
        finally:
            for task in background:
                task.cancel()
            await _settle(background)


async def _until_first_ends(tasks: list[asyncio.Task[None]], stop: StopToken) -> int:
    """Wait for a stop request or for any task to end; the exit status that follows."""
    stopped = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait([*tasks, stopped], return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
    if stop.is_set:
        log.info("stopping: %s", stop.reason)
        return EXIT_OK
    for task in tasks:
        if task.done() and task.exception() is not None:
            error = task.exception()
            log.error("component failed: %r", error, exc_info=error)
            return EXIT_FAILED
    return EXIT_OK


async def _unless_stopped(step: Coroutine[Any, Any, object], stop: StopToken) -> bool:
    """Run `step` unless a stop request comes first; True when it finished."""
    task = asyncio.create_task(step)
    stopped = asyncio.create_task(stop.wait())
    await asyncio.wait([task, stopped], return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    if not task.done():
        task.cancel()
        await _settle([task])
        return False
    task.result()  # re-raises the step's error
    return True


async def _settle(tasks: Sequence[asyncio.Task[Any]]) -> None:
    pending = [task for task in tasks if not task.done()]
    if not pending:
        return
    _, still_running = await asyncio.wait(pending, timeout=_WORK_CANCEL_GRACE)
    if still_running:
        log.warning("work did not stop within %ss of being cancelled", _WORK_CANCEL_GRACE)


async def _as_coroutine(awaitable: Awaitable[None]) -> None:
    await awaitable


def _stop_on_signals(stop: StopToken) -> None:
    loop = asyncio.get_running_loop()

    def on_signal(signum: signal.Signals) -> None:
        stop.set(f"received {signum.name}")
        # A second signal gets the default behaviour, so an impatient user can still kill us.
        for other in _STOP_SIGNALS:
            loop.remove_signal_handler(other)

    for signum in _STOP_SIGNALS:
        loop.add_signal_handler(signum, on_signal, signum)


def _configure_logging() -> None:
    # Only when the program has not set logging up itself: the SDK's lines then reach stderr.
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, stream=sys.stderr, format="%(name)s: %(levelname)s: %(message)s"
        )
