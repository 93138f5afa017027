"""Long lines in a terminal: wrapped by flowctl, each continuation under the message."""

from __future__ import annotations

import io
from datetime import datetime

from rich.console import Console

from flowctl.console.line_format import LineLayout
from flowctl.console.log_record import LogRecord
from flowctl.console.writers import RichWriter

WORDS = " ".join(f"word{number}" for number in range(40))


def printed(record: LogRecord, columns: int) -> list[str]:
    console = Console(file=io.StringIO(), width=columns, color_system=None, force_terminal=True)
    writer = RichWriter(LineLayout(["ttp-processor"]), console)
    writer.write(record)
    return console.file.getvalue().splitlines()  # type: ignore[attr-defined]


def test_continuation_lines_start_under_the_message() -> None:
    stamp = datetime(2026, 1, 2, 12, 4, 5, 120000).astimezone()
    lines = printed(LogRecord(stamp, "INFO", WORDS, "ttp-processor", "stdout"), 80)
    head = lines[0][: lines[0].index("| ") + 2]
    assert head.endswith("ttp-processor | ")
    assert len(lines) > 1
    assert all(line.startswith(" " * len(head)) and line[len(head)] != " " for line in lines[1:])
    assert all(len(line) <= 80 for line in lines)
    # Nothing lost or cut inside a word.
    assert " ".join(line.strip() for line in [lines[0][len(head) :], *lines[1:]]) == WORDS


def test_a_short_line_is_left_alone() -> None:
    stamp = datetime(2026, 1, 2, 12, 4, 5, 120000).astimezone()
    lines = printed(LogRecord(stamp, "WARNING", "short", None, None), 80)
    assert lines == ["12:04:05.120 flowctl       | warning: short"]


def test_too_narrow_to_indent_the_terminal_wraps() -> None:
    stamp = datetime(2026, 1, 2, 12, 4, 5, 120000).astimezone()
    lines = printed(LogRecord(stamp, "INFO", WORDS, "ttp-processor", "stdout"), 40)
    assert len(lines) == 1  # one line: the terminal wraps it at its edge
