"""A plain text table built from columns, so that a command can add its own column.

columns = [*STATUS_COLUMNS, Column("ATTACHED", lambda row: row.extra.get("by", ""))]
print(render_text_table(rows, columns))
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

Row = TypeVar("Row")


@dataclass(frozen=True)
class Column(Generic[Row]):
    header: str
    value: Callable[[Row], str]


def render_text_table(rows: Sequence[Row], columns: Sequence[Column[Row]]) -> str:
    cells = [[column.header for column in columns]]
    cells += [[column.value(row) for column in columns] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True))
        for line in cells
    ]
    return "\n".join(line.rstrip() for line in lines)
