"""Reading a component's stdout and stderr: into its log file and, line by line, to a sink.

One pump per stream. Both pumps write the raw bytes into the same log file in arrival
order. Reading stops at end-of-file, or soon after the main process has exited (see
DrainWindow): a grandchild may hold the pipe open forever.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import trio

READ_SIZE = 64 * 1024
MAX_LINE = 64 * 1024  # a longer line without newline is delivered in pieces of this size


class LineSplitter:
    """Bytes in, text lines out: newline (and a CR before it) stripped, bad UTF-8 replaced,
    an endless line cut into MAX_LINE pieces instead of buffered without bound."""

    def __init__(self, max_line: int = MAX_LINE) -> None:
        self._max_line = max_line
        self._pending = b""

    def feed(self, data: bytes) -> list[str]:
        *complete, self._pending = (self._pending + data).split(b"\n")
        lines = [_decode(line.removesuffix(b"\r")) for line in complete]
        while len(self._pending) > self._max_line:
            cut = _utf8_boundary(self._pending, self._max_line)
            lines.append(_decode(self._pending[:cut]))
            self._pending = self._pending[cut:]
        return lines

    def finish(self) -> list[str]:
        """The partial last line, if any, at end of output."""
        rest, self._pending = self._pending, b""
        return [_decode(rest)] if rest else []


def _decode(line: bytes) -> str:
    return line.decode("utf-8", errors="replace")


def _utf8_boundary(data: bytes, cut: int) -> int:
    """Move a cut back (at most 3 bytes) so that it does not split a UTF-8 character."""
    for candidate in range(cut, max(cut - 4, 0), -1):
        if data[candidate] & 0xC0 != 0x80:  # not a continuation byte
            return candidate
    return cut  # not UTF-8 anyway


class LogFile:
    """The component's log: truncated at start, flushed after every chunk so that it is
    complete even if flowctl dies. Written synchronously: a chunk into the page cache takes
    microseconds, less than handing it to a thread would."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: BinaryIO = path.open("wb")

    def write(self, data: bytes) -> None:
        self._file.write(data)
        self._file.flush()

    def close(self) -> None:
        self._file.close()


class DrainWindow:
    """How long the pumps keep reading once the main process has exited: until end-of-file,
    or until no data came for `idle` seconds, and never more than `cap` seconds in all."""

    def __init__(self, idle: float = 0.25, cap: float = 2.0) -> None:
        self._idle = idle
        self._cap = cap
        self._closes_at = math.inf
        self._reads: set[trio.CancelScope] = set()

    def open(self) -> None:
        """The main process has exited: from now on, reads time out."""
        self._closes_at = trio.current_time() + self._cap
        for scope in self._reads:  # wake reads that were waiting without a deadline
            scope.deadline = self._read_deadline()

    def _read_deadline(self) -> float:
        if self._closes_at == math.inf:
            return math.inf
        return min(trio.current_time() + self._idle, self._closes_at)

    @contextmanager
    def read(self) -> Iterator[trio.CancelScope]:
        """A scope for one read; it is cancelled (and swallows that) when the window closes."""
        scope = trio.CancelScope(deadline=self._read_deadline())
        self._reads.add(scope)
        try:
            with scope:
                yield scope
        finally:
            self._reads.discard(scope)


class OutputPump:
    """Copies one stream of a component into the log file and, as lines, to `deliver`."""

    def __init__(
        self,
        stream: trio.abc.ReceiveStream,
        log: LogFile,
        deliver: Callable[[str], Awaitable[None]],
        window: DrainWindow,
    ) -> None:
        self._stream = stream
        self._log = log
        self._deliver = deliver
        self._window = window
        self._splitter = LineSplitter()
        self.finished = trio.Event()

    async def run(self) -> None:
        try:
            while chunk := await self._read():
                self._log.write(chunk)
                for line in self._splitter.feed(chunk):
                    await self._deliver(line)
            for line in self._splitter.finish():
                await self._deliver(line)
        except trio.Cancelled:
            # flowctl is shutting down: the line consumers are being cancelled too, but the
            # log must still get what the component says while it stops. Bounded: the
            # cancellation ends the process, which closes the drain window.
            with trio.CancelScope(shield=True):
                while chunk := await self._read():
                    self._log.write(chunk)
            raise
        finally:
            self.finished.set()
            await trio.aclose_forcefully(self._stream)

    async def _read(self) -> bytes:
        """The next chunk; b"" at end-of-file or when the drain window has closed."""
        with self._window.read():
            # bytes() of what a pipe gives (already bytes) is the same object: no copy.
            return bytes(await self._stream.receive_some(READ_SIZE))
        return b""
