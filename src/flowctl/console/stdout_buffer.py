"""stdout that never blocks the trio loop, for `flowctl run`.

A reader that stops reading (a terminal paused with Ctrl+S, `flowctl run | less` not
scrolling, a pipe nobody reads) makes write(2) on fd 1 block. Done from the trio thread,
that would stop the control plane, the janitor and Ctrl+C with it. So every writer (plain
and JSON lines, the rich Console of coloured lines and of the live view) writes into this
buffer, in memory, and a worker thread writes it out, one batch per hop.

Memory is bounded: component output waits for room (`wait_for_room`) once BACKLOG_LIMIT is
pending, which pushes back on the component's pipe as a blocking write did. flowctl's own
lines and redraws always go in: they are few. fd 1 stays blocking: O_NONBLOCK would be set
on the open file description the user's shell shares.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TextIO

import trio

BACKLOG_LIMIT = 4 * 1024 * 1024  # characters pending before component output waits
BEHIND = 64 * 1024  # pending characters from which the reader counts as behind
WRITE_CHUNK = 64 * 1024  # bytes per write(2), so that progress shows between them
EXIT_STALL = 1.0  # seconds the exit waits for a reader that takes nothing


class StdoutBuffer:
    """A file-like stdout (write, flush, isatty, encoding) written out by a worker thread
    while `draining()` runs. Written from the trio thread only."""

    def __init__(
        self,
        stream: TextIO,
        limit: int = BACKLOG_LIMIT,
        on_reader_gone: Callable[[], None] | None = None,
    ) -> None:
        self._stream = stream
        self._on_reader_gone = on_reader_gone  # called once, from the trio thread
        self._fd = stream.fileno()
        self.encoding: str = getattr(stream, "encoding", None) or "utf-8"
        self._limit = limit
        self._pending: list[str] = []
        self._pending_size = 0
        self._in_flight = 0  # characters the worker thread is writing now
        self._wake = trio.Event()  # something is pending
        self._room = trio.Event()  # a batch was written (or waiting is over)
        self._no_waiting = False
        self.reader_gone = False  # EPIPE or EIO: nothing is written any more
        self._progress_at = time.monotonic()  # the worker's last write; read at exit

    # -- the file-like side (rich Console, the line writers) -------------------------------

    def write(self, text: str) -> int:
        if self.reader_gone:
            return len(text)
        self._pending.append(text)
        self._pending_size += len(text)
        self._wake.set()
        return len(text)

    def flush(self) -> None:
        return None  # the worker thread writes as soon as it can

    def isatty(self) -> bool:
        return self._stream.isatty()

    def fileno(self) -> int:
        return self._fd

    # -- back-pressure ---------------------------------------------------------------------

    @property
    def backlog(self) -> int:
        """Characters written here and not yet out."""
        return self._pending_size + self._in_flight

    @property
    def behind(self) -> bool:
        """The reader is not keeping up: a redraw can wait."""
        return self.backlog > BEHIND

    async def wait_for_room(self) -> bool:
        """Wait while the backlog is over the limit. False: do not wait, drop the line
        instead (the run is stopping, see stop_waiting, or the reader has gone)."""
        while self.backlog > self._limit and not self.reader_gone:
            if self._no_waiting:
                return False
            await self._room.wait()
        return True

    def stop_waiting(self) -> None:
        """The run is stopping: component output must not wait any more (its pumps have to
        finish); over the limit, its lines are left off the screen (the logs have them)."""
        self._no_waiting = True
        self._room.set()

    # -- the worker ------------------------------------------------------------------------

    @asynccontextmanager
    async def draining(self, exit_stall: float = EXIT_STALL) -> AsyncIterator[None]:
        """Write out while the block runs; on the way out, write the rest unless the reader
        takes nothing for `exit_stall` seconds (then the rest is dropped, and the thread,
        blocked in write(2), is left behind: trio's workers are daemon threads)."""
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._write_out)
            try:
                yield
            finally:
                with trio.CancelScope(shield=True):
                    await self._wait_written(exit_stall)
                nursery.cancel_scope.cancel()

    async def _write_out(self) -> None:
        while True:
            await self._wake.wait()
            self._wake = trio.Event()
            while self._pending and not self.reader_gone:
                data = "".join(self._pending).encode(self.encoding, "replace")
                self._in_flight, self._pending, self._pending_size = self._pending_size, [], 0
                # One hop per batch: lines that came while the last batch was being written
                # go together. Abandoned on cancel: a blocked write(2) cannot be interrupted.
                await trio.to_thread.run_sync(self._write_all, data, abandon_on_cancel=True)
                self._in_flight = 0
                if self.reader_gone and self._on_reader_gone is not None:
                    self._on_reader_gone()
                    self._on_reader_gone = None
                self._room.set()
                self._room = trio.Event()

    def _write_all(self, data: bytes) -> None:
        """In the worker thread: write(2) until done; blocking here blocks nothing else."""
        view = memoryview(data)
        while view:
            try:
                written = os.write(self._fd, view[:WRITE_CHUNK])
            except OSError:  # EPIPE (`| head` is gone), EIO (the terminal closed)
                self.reader_gone = True
                return
            view = view[written:]
            self._progress_at = time.monotonic()

    async def _wait_written(self, stall: float) -> None:
        began = time.monotonic()
        while self.backlog and not self.reader_gone:
            if time.monotonic() - max(self._progress_at, began) > stall:
                return
            await trio.sleep(0.01)  # only at exit: a poll is simpler than waking per chunk
