"""The status table pinned at the bottom of the terminal while the logs scroll above it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import trio

from flowctl.console.component_status import PipelineStatus
from flowctl.console.palette import Palette
from flowctl.console.status_rows import ID, METRICS, STATE, STATUS_COLUMNS, component_row

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

REFRESH_INTERVAL = 0.5  # seconds; uptimes and heartbeat ages tick even when nothing happens
TONE_STYLES = {"ok": "green", "warn": "yellow", "bad": "bold red", "idle": "dim"}


def status_table(status: PipelineStatus, palette: Palette) -> Table:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        title=status.headline(),  # the rows say the rest
        title_justify="left",
        title_style="bold",
    )
    now = status.now()
    rows = [component_row(component, now) for component in status.components.values()]
    for column in STATUS_COLUMNS:
        if column is METRICS:
            # Only the metrics give way in a narrow terminal: ids, states and ages never.
            table.add_column(column.header, no_wrap=True, overflow="ellipsis", ratio=1)
        else:
            width = max([len(column.header), *(len(column.value(row)) for row in rows)])
            table.add_column(column.header, no_wrap=True, min_width=width)
    for row in rows:
        # Colour the id and the state only; the rest stays quiet.
        styles = {ID: palette.colour(row.id), STATE: TONE_STYLES[row.tone]}
        table.add_row(*(Text(c.value(row), style=styles.get(c, "")) for c in STATUS_COLUMNS))
    return table


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
        return status_table(self._status, self._palette)
