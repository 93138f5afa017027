"""The status table pinned at the bottom of the terminal while the logs scroll above it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import trio

from flowctl.console.component_status import PipelineStatus
from flowctl.console.palette import Palette
from flowctl.console.status_rows import ID, METRICS, STATE, StatusRow, component_row
from flowctl.console.table_fit import FittedColumn, fit_columns, shorten_metrics

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

REFRESH_INTERVAL = 0.5  # seconds; uptimes and heartbeat ages tick even when nothing happens
ECHO_ROOM = 2  # cells: the terminal's echo of Ctrl+C, ^C
TONE_STYLES = {"ok": "green", "warn": "yellow", "bad": "bold red", "idle": "dim"}


def status_table(status: PipelineStatus, palette: Palette, width: int) -> Table:
    """The table within `width` cells: see table_fit.py for what gives way first."""
    from rich import box
    from rich.table import Table

    table = Table(
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        padding=(0, 1, 0, 0),  # with the box's blank separator: table_fit.GAP cells
        title=status.headline(),  # the rows say the rest
        title_justify="left",
        title_style="bold",
    )
    now = status.now()
    rows = [component_row(component, now) for component in status.components.values()]
    fitted = fit_columns(rows, width)
    for fit in fitted:
        table.add_column(fit.column.header, width=fit.width, no_wrap=True, overflow="crop")
    for row in rows:
        # Colour the id and the state only; the rest stays quiet.
        styles = {ID: palette.colour(row.id), STATE: TONE_STYLES[row.tone]}
        table.add_row(*(_cell(fit, row, styles.get(fit.column, "")) for fit in fitted))
    return table


def _cell(fit: FittedColumn, row: StatusRow, style: str) -> Text:
    from rich.text import Text

    value = fit.column.value(row)
    if fit.column is METRICS:
        value = shorten_metrics(value, fit.width)
    return Text(value, style=style)


def table_width(console_width: int) -> int:
    """Cells the table may use: the last ones of the line stay free, so that the ^C a
    terminal echoes after the table's last row does not wrap. A wrapped echo adds a line
    rich does not know of, and its next redraw would leave the table's title behind."""
    return max(1, console_width - ECHO_ROOM)


class LiveStatusView:
    """Redraws the table every REFRESH_INTERVAL, and at once when a state changes; not while
    the terminal is behind (`behind()`): redraws would pile up for a reader that reads nothing,
    and the lines printed meanwhile redraw it anyway."""

    def __init__(
        self,
        console: Console,
        status: PipelineStatus,
        palette: Palette,
        behind: Callable[[], bool] = lambda: False,
    ) -> None:
        self._console = console
        self._behind = behind
        self._status = status
        self._palette = palette
        self._changed = trio.Event()

    def changed(self) -> None:
        self._changed.set()

    async def run(self) -> None:
        from rich.live import Live

        # Refreshed from this trio task only (no rich thread): the status is read where it
        # is written. Transient: after the run the final report replaces the table.
        with Live(
            self._table(),
            console=self._console,
            auto_refresh=False,
            transient=True,
            redirect_stdout=True,
            redirect_stderr=True,
            vertical_overflow="visible",
        ) as live:
            while True:
                with trio.move_on_after(REFRESH_INTERVAL):
                    await self._changed.wait()
                self._changed = trio.Event()
                live.update(self._table(), refresh=not self._behind())

    def _table(self) -> Table:
        # The console's width is read again at each redraw: a resized terminal is followed.
        return status_table(self._status, self._palette, table_width(self._console.width))
