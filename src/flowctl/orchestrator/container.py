"""ContainerOrchestrator: a component runs as a container, through the Docker Engine API.

Same guarantees as a process (process.py), with the engine doing what the kernel does there:
- its tasks live in the caller's nursery: a log reader (the engine's multiplexed log stream,
  from the container's first byte, into the same output pumps and log file as a process's
  pipes) and a follower that waits for the exit (a long-polled `wait`, so it is noticed at
  once), drains the output, publishes the exit and removes the container;
- a stop is the engine's stop (the image's stop signal, the remaining grace, then SIGKILL);
  a cancelled nursery stops the container the same way, shielded and bounded;
- every container carries labels naming the run, the component and the start, and is
  removed when it has exited; the guard (guard.py) and the watchdog remove, by the run's
  label, any that this could not (flowctl killed).

A container gets the FLOWCTL_* environment and the component's `env:`, not flowctl's own
environment (PATH and HOME of this machine mean nothing in an image).
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import trio

from flowctl.errors import ComponentStartError
from flowctl.events import ComponentExited, ComponentStarted, ComponentStopping, EventBus
from flowctl.orchestrator.container_sweep import COMPONENT_LABEL, LAUNCH_LABEL, RUN_LABEL
from flowctl.orchestrator.engine_client import (
    STDERR,
    STDOUT,
    EngineAddress,
    EngineClient,
    EngineError,
    ImageMissing,
    engine_address,
    env_list,
)
from flowctl.orchestrator.guard import RunGuard
from flowctl.orchestrator.interface import ContainerSpec, ExitStatus, LaunchSpec, OutputSink
from flowctl.orchestrator.output import DrainWindow, LogFile, OutputPump
from flowctl.orchestrator.run_tag import (
    LAUNCH_ID_VARIABLE,
    RUN_ID_VARIABLE,
    component_tag,
    new_launch_id,
)

KILL_WAIT = 10.0  # after the engine's SIGKILL, how long its wait may take to answer
REMOVE_LIMIT = 30.0  # removing a stopped container; the guard's sweep retries after it
STOP_MARGIN = 5.0  # the engine's own stop takes its grace plus a little
LOST = 255  # the status recorded when the engine cannot say how the container ended
OUTPUT_BUFFER = 1024 * 1024  # bytes between the log stream and a pump: back-pressure
DRAIN_LIMIT = 30.0  # after the exit, for the rest of the output to reach the log


class ContainerOrchestrator:
    """Runs components as containers on one engine (DOCKER_HOST or the default socket).

    The engine is asked once, at the first start, whether it answers; every container of
    the run is then announced to the guard, which removes what is left at the end.
    """

    def __init__(
        self,
        events: EventBus | None = None,
        cancel_grace: float = 10.0,
        guard: RunGuard | None = None,
        address: EngineAddress | None = None,
    ) -> None:
        self._events = events
        self._cancel_grace = cancel_grace
        self._guard = guard or RunGuard()
        self._address = address or engine_address()
        self._client: EngineClient | None = None
        self._lock = trio.Lock()

    @property
    def run_id(self) -> str:
        return self._guard.run_id

    async def start(
        self, spec: LaunchSpec, nursery: trio.Nursery, on_output: OutputSink
    ) -> ContainerComponent:
        if spec.container is None:
            raise ComponentStartError(spec.component_id, "it has no image to run")
        engine = await self._engine(spec.component_id)
        component = ContainerComponent(
            spec, spec.container, engine, self._events, self._cancel_grace, self._guard
        )
        await component.launch(nursery, on_output)
        return component

    async def check_images(self, images: Mapping[str, ContainerSpec]) -> None:
        """ComponentStartError for the first component whose image is missing (and may not
        be pulled), or if the engine does not answer."""
        for component_id, container in images.items():
            engine = await self._engine(component_id)
            if container.pull == "never":
                try:
                    present = await engine.image_exists(container.image)
                except EngineError as error:
                    raise ComponentStartError(component_id, str(error)) from None
                if not present:
                    raise ComponentStartError(
                        component_id, image_missing(container.image, engine.address)
                    )

    async def aclose(self) -> None:
        if self._client is not None:
            with trio.CancelScope(shield=True):
                await self._client.aclose()
            self._client = None

    async def _engine(self, component_id: str) -> EngineClient:
        async with self._lock:
            if self._client is None:
                client = EngineClient(self._address)
                try:
                    await client.ping()
                except EngineError as error:
                    await client.aclose()
                    raise ComponentStartError(component_id, str(error)) from None
                self._client = client
                self._guard.announce_engine(self._address.url)
            return self._client


class ContainerComponent:
    """A running container (the RunningComponent of interface.py)."""

    def __init__(
        self,
        spec: LaunchSpec,
        container: ContainerSpec,
        engine: EngineClient,
        events: EventBus | None,
        cancel_grace: float,
        guard: RunGuard,
    ) -> None:
        self.component_id = spec.component_id
        self.pid = 0
        self.container_id = ""
        self.exit_status: ExitStatus | None = None
        self.stop_requested = False
        self._spec = spec
        self._container = container
        self._engine = engine
        self._events = events
        self._cancel_grace = cancel_grace
        self._guard = guard
        self._launch_id = new_launch_id()
        self._exited = trio.Event()  # exit status known and output drained
        self._removed = trio.Event()  # and the container removed (or given up on)
        self._stop_sent = False
        self._nursery: trio.Nursery | None = None

    # -- RunningComponent ------------------------------------------------------------------

    async def wait(self) -> ExitStatus:
        await self._exited.wait()
        assert self.exit_status is not None
        return self.exit_status

    def send_signal(self, sig: int) -> None:
        self._soon(partial(self._engine.kill, self.container_id, int(sig)))

    async def stop(self, grace: float) -> ExitStatus:
        self.stop_requested = True
        if not self._exited.is_set():
            await self._engine_stop(grace)
        await self._removed.wait()
        assert self.exit_status is not None
        return self.exit_status

    def kill(self) -> None:
        self.stop_requested = True
        self._soon(partial(self._engine.kill, self.container_id, "SIGKILL"))

    # -- starting --------------------------------------------------------------------------

    async def launch(self, nursery: trio.Nursery, on_output: OutputSink) -> None:
        spec, container = self._spec, self._container
        try:
            log = LogFile(spec.log_path)
        except OSError as error:
            raise ComponentStartError(
                spec.component_id, f"cannot write its log file {spec.log_path}: {error.strerror}"
            ) from None
        try:
            await self._ensure_image()
            async with self._removed_if_failing():
                self.container_id = await self._engine.create(self._name(), self._config())
                await self._engine.start(self.container_id)
                state = (await self._engine.inspect(self.container_id)).get("State", {})
                self.pid = int(state.get("Pid") or 0)
        except ImageMissing:
            log.close()
            raise ComponentStartError(spec.component_id, self._image_missing()) from None
        except EngineError as error:
            log.close()
            raise ComponentStartError(
                spec.component_id, f"container of image '{container.image}': {error}"
            ) from None
        except BaseException:
            log.close()
            raise
        self._nursery = nursery
        window = DrainWindow()
        buffers = {STDOUT: _OutputBuffer(), STDERR: _OutputBuffer()}
        pumps = []
        for name, stream in (("stdout", STDOUT), ("stderr", STDERR)):
            deliver = partial(on_output, spec.component_id, name)
            pump = OutputPump(buffers[stream], log, deliver, window)
            nursery.start_soon(pump.run, name=f"{spec.component_id} {name}")
            pumps.append(pump)
        reading = _LogReading()
        nursery.start_soon(self._read_logs, reading, buffers)
        nursery.start_soon(self._follow, pumps, window, log, reading)
        self._publish(ComponentStarted(self.component_id, self.pid, self.container_id))

    async def _ensure_image(self) -> None:
        image = self._container.image
        if await self._engine.image_exists(image):
            return
        if self._container.pull != "missing":
            raise ImageMissing(image)
        try:
            await self._engine.pull(image)
        except EngineError as error:
            raise EngineError(f"cannot pull it: {error}") from None

    def _image_missing(self) -> str:
        return image_missing(self._container.image, self._engine.address)

    @asynccontextmanager
    async def _removed_if_failing(self) -> AsyncIterator[None]:
        """A container created but not started, or started and then cancelled, is removed."""
        try:
            yield
        except BaseException:
            if self.container_id:
                # If this fails, the guard's sweep removes it by its label.
                with (
                    trio.CancelScope(shield=True),
                    trio.move_on_after(REMOVE_LIMIT),
                    contextlib.suppress(EngineError),
                ):
                    await self._engine.remove(self.container_id)
            raise

    def _name(self) -> str:
        readable = re.sub(r"[^a-zA-Z0-9_.-]+", "-", self.component_id)[:100]
        return f"flowctl-{readable}-{self._launch_id[:8]}"

    def _config(self) -> dict[str, Any]:
        spec, container = self._spec, self._container
        env = {
            **spec.env,
            RUN_ID_VARIABLE: component_tag(self._guard.run_id, spec.component_id),
            LAUNCH_ID_VARIABLE: self._launch_id,
        }
        mounts = [mount.bind() for mount in container.mounts]
        # TLS files are given by path: the same paths, read-only, inside the container.
        for name in ("FLOWCTL_TLS_CA_CERT", "FLOWCTL_TLS_CERT", "FLOWCTL_TLS_KEY"):
            if spec.env.get(name, "").startswith("/"):
                mounts.append(f"{spec.env[name]}:{spec.env[name]}:ro")
        config: dict[str, Any] = {
            "Image": container.image,
            "Env": env_list(env),
            "Labels": {
                RUN_LABEL: self._guard.run_id,
                COMPONENT_LABEL: spec.component_id,
                LAUNCH_LABEL: self._launch_id,
            },
            "AttachStdin": False,
            "AttachStdout": False,
            "AttachStderr": False,
            "OpenStdin": False,
            "Tty": False,
            "HostConfig": {"NetworkMode": container.network, "Binds": mounts},
        }
        if spec.argv:
            config["Cmd"] = list(spec.argv)
        if container.user:
            config["User"] = container.user
        if container.working_dir:
            config["WorkingDir"] = container.working_dir
        return config

    # -- output, exit and stop -------------------------------------------------------------

    async def _read_logs(self, reading: _LogReading, buffers: dict[int, _OutputBuffer]) -> None:
        """The container's output from its first byte: followed while it runs, then, once
        its exit is noticed, the rest from its complete log.

        Podman's follow stream drops what its reader has not taken yet when the container
        exits (the end of a flood, last words on stderr included). So the follow stream is
        left at the exit, and the log is read once more without follow, past the bytes of
        each stream that came already. Shielded, so that what a container says while it
        stops still reaches its log; the follower cancels it if draining takes too long.
        Podman's follow stream may also have given lines out of order before the exit was
        noticed: what came is checked against the complete log (by a hash of each stream),
        and if it differs, the log file is written again from the complete log (_finish).
        An engine error ends the output here: the exit is the follower's to report."""
        came = {STDOUT: 0, STDERR: 0}
        followed = {STDOUT: hashlib.blake2b(), STDERR: hashlib.blake2b()}
        logged = {STDOUT: hashlib.blake2b(), STDERR: hashlib.blake2b()}
        try:
            with reading.scope:
                with reading.following, contextlib.suppress(EngineError):
                    async for stream, data in self._engine.logs(self.container_id):
                        key = STDERR if stream == STDERR else STDOUT
                        await buffers[key].put(data)
                        came[key] += len(data)  # put() adds all or, cancelled, nothing
                        followed[key].update(data)
                await reading.exited.wait()
                with contextlib.suppress(EngineError):
                    async for stream, data in self._engine.logs(self.container_id, False):
                        key = STDERR if stream == STDERR else STDOUT
                        skip = min(came[key], len(data))
                        came[key] -= skip
                        logged[key].update(data[:skip])
                        if skip < len(data):
                            await buffers[key].put(data[skip:])
                    reading.garbled = any(
                        followed[key].digest() != logged[key].digest() for key in followed
                    )
        finally:
            for buffer in buffers.values():
                buffer.end()

    async def _follow(
        self, pumps: list[OutputPump], window: DrainWindow, log: LogFile, reading: _LogReading
    ) -> None:
        try:
            status = await self._engine.wait(self.container_id)
        except EngineError:
            status = LOST
        except trio.Cancelled:
            # The run is stopping: stop the container (the engine's stop, then SIGKILL),
            # then finish as for any exit; shielded, every step bounded.
            with trio.CancelScope(shield=True):
                self.stop_requested = True
                status = await self._stop_and_wait(self._cancel_grace)
                await self._finish(status, pumps, window, log, reading)
            raise
        with trio.CancelScope(shield=True):
            await self._finish(status, pumps, window, log, reading)

    async def _finish(
        self,
        status: int,
        pumps: list[OutputPump],
        window: DrainWindow,
        log: LogFile,
        reading: _LogReading,
    ) -> None:
        # The pumps read until the reader has the whole log (not a pipe's drain window: the
        # engine keeps the output, a grandchild cannot hold it open); bounded all the same.
        reading.container_exited()
        with trio.move_on_after(DRAIN_LIMIT):
            for pump in pumps:
                await pump.finished.wait()
        reading.scope.cancel()
        window.open()
        for pump in pumps:
            await pump.finished.wait()
        log.close()
        if reading.garbled:
            await self._write_log_again()
        self.exit_status = ExitStatus(status)
        self._publish(
            ComponentExited(
                self.component_id,
                status,
                self.exit_status.describe(),
                expected=self.stop_requested,
            )
        )
        self._exited.set()
        # If this fails, the guard's sweep removes it by its label.
        with trio.move_on_after(REMOVE_LIMIT), contextlib.suppress(EngineError):
            await self._engine.remove(self.container_id)
        self._removed.set()

    async def _write_log_again(self) -> None:
        """The log file, from the engine's complete log (when its follow stream garbled it)."""
        with (
            trio.move_on_after(DRAIN_LIMIT),
            contextlib.suppress(EngineError, OSError),
            self._spec.log_path.open("wb") as log,
        ):
            async for _, data in self._engine.logs(self.container_id, False):
                log.write(data)

    async def _stop_and_wait(self, grace: float) -> int:
        """Stop the container within `grace` (then SIGKILL) and return its exit status."""
        with trio.move_on_after(grace + STOP_MARGIN):
            await self._engine_stop(grace)
        with trio.move_on_after(KILL_WAIT):
            try:
                await self._engine.kill(self.container_id, "SIGKILL")
                return await self._engine.wait(self.container_id)
            except EngineError:
                pass
        return LOST

    async def _engine_stop(self, grace: float) -> None:
        if not self._stop_sent:
            self._stop_sent = True
            self._publish(ComponentStopping(self.component_id))
        try:
            await self._engine.stop(self.container_id, math.ceil(grace))
        except EngineError:
            with contextlib.suppress(EngineError):  # gone already, or the engine is
                await self._engine.kill(self.container_id, "SIGKILL")

    def _soon(self, call: Any) -> None:
        """Run an engine call from a synchronous method, in the component's nursery."""
        if self._nursery is None or self._removed.is_set():
            return

        async def quietly() -> None:
            with (
                trio.CancelScope(shield=True),
                trio.move_on_after(KILL_WAIT),
                contextlib.suppress(EngineError),
            ):
                await call()

        # A closed nursery (RuntimeError): the container is being removed already.
        with contextlib.suppress(RuntimeError):
            self._nursery.start_soon(quietly)

    def _publish(self, event: ComponentStarted | ComponentStopping | ComponentExited) -> None:
        if self._events is not None:
            self._events.publish(event)


def image_missing(image: str, address: EngineAddress) -> str:
    return (
        f"image '{image}' is not on the container engine at {address.describe()}; flowctl "
        "does not pull images unless the component says `pull: missing`: build or pull it first"
    )


class _LogReading:
    """The log reader's scopes, and the follower's word that the container has exited."""

    def __init__(self) -> None:
        self.scope = trio.CancelScope(shield=True)  # all of it: ended by the follower only
        self.following = trio.CancelScope()  # the follow stream: left once the exit is known
        self.exited = trio.Event()
        self.garbled = False  # the follow stream differed from the complete log

    def container_exited(self) -> None:
        self.exited.set()
        self.following.cancel()


class _OutputBuffer(trio.abc.ReceiveStream):
    """Bytes from the log reader, taken by a pump as one chunk: the engine sends a frame per
    line, and a pump woken (and the log file flushed) per frame costs a scheduler pass per
    line, slower than a busy component writes. Bounded: a full buffer holds the reader."""

    def __init__(self, limit: int = OUTPUT_BUFFER) -> None:
        self._data = bytearray()
        self._limit = limit
        self._ended = False  # no more bytes will come
        self._closed = False  # the pump is gone: bytes are dropped
        self._changed = trio.lowlevel.ParkingLot()

    async def put(self, data: bytes) -> None:
        """Add all of `data` once there is room; cancelled while waiting, nothing is added."""
        while len(self._data) >= self._limit and not self._closed:
            await self._changed.park()
        if not self._closed:
            self._data += data
            self._changed.unpark_all()

    def end(self) -> None:
        self._ended = True
        self._changed.unpark_all()

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        await trio.lowlevel.checkpoint()  # lets the reader add what it has first
        while not self._data and not self._ended and not self._closed:
            await self._changed.park()
        size = len(self._data) if max_bytes is None else max_bytes
        chunk = bytes(self._data[:size])
        del self._data[:size]
        self._changed.unpark_all()
        return chunk

    async def aclose(self) -> None:
        self._closed = True
        self._data.clear()
        self._changed.unpark_all()
        await trio.lowlevel.checkpoint()
