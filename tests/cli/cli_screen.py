"""`flowctl` at a keyboard: a pseudo-terminal that is its controlling terminal (so Ctrl+C is
typed, and the terminal echoes `^C` as a real one does), and the screen a person sees after
every redraw, through a terminal emulator (pyte), not the raw stream."""

from __future__ import annotations

import fcntl
import os
import re
import sys
import termios
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pyte
import trio
from cli_helpers import FLOWCTL
from cli_pty import PtyReader, open_pty

TIMESTAMP = re.compile(r"^\d\d:\d\d:\d\d\.\d{3} ")
TABLE_TITLE = re.compile(r"^\s*\d+/\d+ healthy")


def _take_the_terminal() -> None:
    # In the child, after setsid: stdin (the pty) becomes its controlling terminal, and
    # flowctl's process group the one Ctrl+C signals.
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Terminal(PtyReader):
    def __init__(
        self, process: trio.Process, master: int, columns: int, rows: int, device: str
    ) -> None:
        super().__init__(process, master)
        self.device = device  # the terminal's /dev/pts/N, to look at its modes
        self._screen = pyte.Screen(columns, rows)
        self._parser = pyte.Stream(self._screen)

    @property
    def lines(self) -> list[str]:
        """What the screen shows now, one string per row, trailing blanks removed."""
        return [line.rstrip() for line in self._screen.display]

    async def read_until(self, done: Callable[[list[str]], bool], timeout: float = 60) -> None:
        """Read until `done(lines)`; the timeout guards against a hang only."""
        with trio.fail_after(timeout):
            while not done(self.lines):
                if self._eof:
                    raise AssertionError("flowctl's terminal closed first:\n" + self.text())
                await self._read()

    @property
    def at_line_start(self) -> bool:
        """The cursor is at the start of a line: no line is half received."""
        return self._screen.cursor.x == 0

    def unread(self) -> int:
        """Bytes flowctl wrote that this screen has not taken yet."""
        pending = fcntl.ioctl(self._master.fileno(), termios.FIONREAD, b"\0\0\0\0")
        return int.from_bytes(pending, sys.byteorder)

    def modes(self) -> list[Any]:
        """The terminal's modes (termios.tcgetattr) now."""
        fd = os.open(self.device, os.O_RDWR | os.O_NOCTTY)
        try:
            return termios.tcgetattr(fd)
        finally:
            os.close(fd)

    async def press_ctrl_c(self) -> None:
        await self._master.send_all(b"\x03")

    def text(self) -> str:
        return "\n".join(self.lines).rstrip("\n")

    def _received(self, text: str) -> None:
        self._parser.feed(text)

    async def aclose(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
        await super().aclose()


async def start_at_keyboard(
    args: Sequence[str], *, cwd: Path, env: dict[str, str], columns: int, rows: int = 30
) -> Terminal:
    master, slave = open_pty(columns, rows)
    device = os.ttyname(slave)
    try:
        process = await trio.lowlevel.open_process(
            [FLOWCTL, *args],
            cwd=cwd,
            env=env,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            start_new_session=True,
            preexec_fn=_take_the_terminal,
        )
    finally:
        os.close(slave)  # flowctl holds it now; EOF on the master once flowctl is gone
    return Terminal(process, master, columns, rows, device)


def table_on_screen(lines: list[str]) -> list[dict[str, str]]:
    """The live status table's rows as {header: cell}, read by the header's column
    positions (cells are never wider than their column; a header starts each column)."""
    for index, line in enumerate(lines):
        if re.match(r"^ID\s{2,}", line):
            starts = [match.start() for match in re.finditer(r"\S+", line)]
            headers = line.split()
            rows = []
            for row in lines[index + 2 :]:  # below the header's rule
                if not row.strip() or TIMESTAMP.match(row):
                    break
                cells = [row[a:b].strip() for a, b in zip(starts, [*starts[1:], None], strict=True)]
                rows.append(dict(zip(headers, cells, strict=True)))
            return rows
    return []


def table_header(lines: list[str]) -> list[str]:
    return next((line.split() for line in lines if re.match(r"^ID\s{2,}", line)), [])
