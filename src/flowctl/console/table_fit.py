"""Which columns of the live status table fit a terminal width, and how wide each is.

What gives way, in this order, when the terminal is narrow:
1. the metrics shrink, cut at a whole `key=value` item and ended with `…`, down to their
   first item;
2. then whole columns go: TYPE, then UPTIME, then PID (METRICS_FLOOR below);
3. then the metrics are cut inside their first item, and go last of all.
ID, STATE and HEARTBEAT are never cut nor dropped: they say what is running, how it is, and
whether it still speaks. A terminal too narrow even for those cuts the rows at its edge.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.cells import cell_len, set_cell_size

from flowctl.console.status_rows import (
    HEARTBEAT,
    ID,
    METRICS,
    PID,
    STATE,
    STATUS_COLUMNS,
    TYPE,
    UPTIME,
    StatusRow,
)
from flowctl.console.text_table import Column

GAP = 2  # cells between two columns (the live view's table is drawn so)
KEPT = (ID, STATE, HEARTBEAT)
DROP_ORDER = (TYPE, UPTIME, PID)  # the first to go once the metrics cannot shrink further
ELLIPSIS = "…"


@dataclass(frozen=True)
class FittedColumn:
    column: Column[StatusRow]
    width: int


def fit_columns(rows: Sequence[StatusRow], width: int) -> list[FittedColumn]:
    """The columns to show within `width` cells, in STATUS_COLUMNS order, with their widths."""
    natural = {column: _natural_width(column, rows) for column in STATUS_COLUMNS}
    shown = [column for column in STATUS_COLUMNS if column is not METRICS]
    # No metrics yet: nothing to make room for (the column shows when there is room).
    has_metrics = any(row.metrics for row in rows)
    metrics_floor = min(natural[METRICS], _first_items_width(rows)) if has_metrics else 0

    def room_for_metrics() -> int:
        # What is left once the other columns and every gap (metrics' own included) are in.
        used = sum(natural[column] for column in shown) + GAP * len(shown)
        return width - used

    for dropped in (None, *DROP_ORDER):
        if dropped is not None:
            shown.remove(dropped)
        if room_for_metrics() >= metrics_floor:
            break
    room = room_for_metrics()
    fitted = [FittedColumn(column, natural[column]) for column in shown]
    if room >= cell_len(METRICS.header):
        fitted.append(FittedColumn(METRICS, min(room, natural[METRICS])))
    return fitted


def shorten_metrics(text: str, width: int) -> str:
    """`text` (`key=value` items separated by spaces) within `width` cells: whole items and
    `…` where one fits, else cut inside the first item, never a number cut without a mark."""
    if cell_len(text) <= width:
        return text
    if width <= 0:
        return ""
    items = text.split(" ")
    kept: list[str] = []
    for item in items:
        if cell_len(" ".join([*kept, item, ELLIPSIS])) > width:
            break
        kept.append(item)
    if kept:
        return " ".join([*kept, ELLIPSIS])
    return set_cell_size(text, width - 1) + ELLIPSIS


def _natural_width(column: Column[StatusRow], rows: Sequence[StatusRow]) -> int:
    return max([cell_len(column.header), *(cell_len(column.value(row)) for row in rows)])


def _first_items_width(rows: Sequence[StatusRow]) -> int:
    """The narrowest metrics column that still shows each row's first item whole (with `…`
    when more follow): below that, columns are dropped before the metrics are cut further."""
    widths = [cell_len(METRICS.header)]
    for row in rows:
        first, _, rest = row.metrics.partition(" ")
        widths.append(cell_len(first) + (cell_len(" " + ELLIPSIS) if rest else 0))
    return max(widths)
