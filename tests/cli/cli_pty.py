"""Running the real `flowctl` in a pseudo-terminal, and reading what the screen shows."""

from __future__ import annotations

import codecs
import fcntl
import os
import re
import struct
import subprocess
import termios
from collections.abc import Sequence
from pathlib import Path

import trio
from cli_helpers import FLOWCTL

# CSI and OSC sequences and two-byte escapes: what rich uses to colour and redraw.
ESCAPE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")


def screen_lines(raw: str) -> list[str]:
    """The text lines a terminal was sent, escapes removed, split at newlines and at
    carriage returns (each redraw starts at the beginning of a line)."""
    return [line for line in re.split(r"\r\n|\n|\r", ESCAPE.sub("", raw)) if line.strip()]


class PtyReader:
    """The master side of a pseudo-terminal that a `flowctl` process writes to: reads it
    to the end, decoding UTF-8 across reads; `_received` sees each decoded piece."""

    def __init__(self, process: trio.Process, master: int) -> None:
        self.process = process
        self._master = trio.lowlevel.FdStream(master)
        self.raw = ""
        self._eof = False
        # A character may be split between two reads: decoded across them, not per read.
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    async def read_to_end(self, timeout: float = 60) -> None:
        with trio.fail_after(timeout):
            while not self._eof:
                await self._read()

    async def _read(self) -> None:
        try:
            chunk = await self._master.receive_some(65536)
        except trio.BrokenResourceError:  # EIO: every writer of the terminal has gone
            chunk = b""
        if not chunk:
            self._eof = True
        text = self._decoder.decode(chunk, final=not chunk)
        self.raw += text
        self._received(text)

    def _received(self, text: str) -> None:
        """Hook for a reader that follows the screen as it comes."""

    async def aclose(self) -> None:
        await self._master.aclose()


def open_pty(columns: int, rows: int) -> tuple[int, int]:
    """(master, slave) of a new pseudo-terminal of `columns` x `rows`."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    return master, slave


class PtyFlowctl(PtyReader):
    """`flowctl ARGS` with stdout and stderr on a terminal of `columns` x `rows`."""

    async def read_until(self, done: object, timeout: float = 60) -> None:
        """Read until `done(lines)` (a callable on screen_lines) is true; hang guard only."""
        with trio.move_on_after(timeout):
            while not done(screen_lines(self.raw)):  # type: ignore[operator]
                if self._eof:
                    raise AssertionError("flowctl's terminal closed first:\n" + self.raw)
                await self._read()
            return
        shown = "\n".join(screen_lines(self.raw)[-40:])
        raise AssertionError(f"not on the screen after {timeout} s; its last lines:\n{shown}")


async def start_in_pty(
    args: Sequence[str], *, cwd: Path, env: dict[str, str], columns: int = 160, rows: int = 40
) -> PtyFlowctl:
    master, slave = open_pty(columns, rows)
    try:
        process = await trio.lowlevel.open_process(
            [FLOWCTL, *args], cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave
        )
    finally:
        os.close(slave)  # flowctl holds it now; EOF on the master once flowctl is gone
    return PtyFlowctl(process, master)
