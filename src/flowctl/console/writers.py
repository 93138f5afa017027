"""Where every line goes: straight to a stream (plain text, JSON), or through one rich
Console when the terminal is coloured or shows the live view.

While the live view is up, anything written around rich would land inside the table, so
every line then passes through its Console; lines are printed in batches, one redraw of
the table per batch instead of one per line.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, TextIO

import trio

from flowctl.console.line_format import LineLayout
from flowctl.console.log_record import LogRecord

if TYPE_CHECKING:
    from rich.console import Console

BATCH_LIMIT = 2000  # lines held at most before they are printed without waiting


class LineWriter(Protocol):
    def write(self, record: LogRecord) -> None: ...

    def flush(self) -> None: ...

    async def run(self) -> None:
        """Batch lines while trio runs (a no-op for direct writers); returns on cancel."""
        ...


class StreamWriter:
    """One rendered line per record, written and flushed at once (pipes, files, CI)."""

    def __init__(self, render: Callable[[LogRecord], str], stream: TextIO | None = None) -> None:
        self._render = render
        self._stream = stream or sys.stdout

    def write(self, record: LogRecord) -> None:
        # The reader may have gone (`flowctl run | head`); the log files still have it all.
        with contextlib.suppress(BrokenPipeError, ValueError):
            self._stream.write(self._render(record) + "\n")
            self._stream.flush()

    def flush(self) -> None:
        return None

    async def run(self) -> None:
        await trio.sleep_forever()


class RichWriter:
    """Coloured lines through a rich Console, the one the live view draws on."""

    def __init__(self, layout: LineLayout, console: Console) -> None:
        self._layout = layout
        self.console = console
        self._pending: list[LogRecord] = []
        self._wake: trio.Event | None = None  # set while run() batches

    def write(self, record: LogRecord) -> None:
        self._pending.append(record)
        if self._wake is None or len(self._pending) >= BATCH_LIMIT:
            self.flush()
        else:
            self._wake.set()

    def flush(self) -> None:
        records, self._pending = self._pending, []
        if not records:
            return
        from rich.text import Text

        width = self.console.width  # read again each time: the terminal may be resized
        text = Text("\n").join(self._layout.rich(record, width) for record in records)
        with contextlib.suppress(BrokenPipeError, ValueError):
            # soft_wrap: rich must not cut or re-flow the lines; the long ones come wrapped
            # already, indented under the message column (LineLayout.rich).
            self.console.print(text, soft_wrap=True, highlight=False, markup=False)

    async def run(self) -> None:
        """Lines written between two trio checkpoints (a whole chunk of a component's
        output, say) are printed together."""
        try:
            while True:
                self._wake = trio.Event()
                await self._wake.wait()
                self.flush()
        finally:
            self._wake = None
            self.flush()
