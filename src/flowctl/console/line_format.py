"""How a log line looks in text form, plain or coloured, and as JSON.

12:04:05.120 ttp-processor | processed ledger 1200
12:04:05.121 ttp-processor ! a line it wrote on stderr
12:04:07.500 flowctl       | warning: consumer-app is unhealthy: no heartbeat for 2.1s
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from typing import TYPE_CHECKING

from flowctl.console.clean_text import plain_text
from flowctl.console.log_record import FLOWCTL_NAME, LogRecord
from flowctl.console.palette import Palette

if TYPE_CHECKING:  # rich is only imported when the terminal is coloured or live
    from rich.console import Console
    from rich.text import Text

STDOUT_MARK = "|"
STDERR_MARK = "!"
LEVEL_STYLES = {"WARNING": "yellow", "ERROR": "bold red", "CRITICAL": "bold red"}
MAX_SHOWN = 4096  # characters of one line shown in the terminal; the log file has all
MIN_WRAPPED = 30  # cells left for the message below which a long line is not indented


def level_prefix(level: str) -> str:
    """flowctl's lines say their level when it is worth attention."""
    return "" if level in ("INFO", "SUCCESS", "TRACE") else f"{level.lower()}: "


class LineLayout:
    """Timestamp, the name padded so that columns line up, a mark, the message."""

    def __init__(self, names: Iterable[str] = ()) -> None:
        names = list(names)
        self.palette = Palette(names)
        self._width = max(len(name) for name in [FLOWCTL_NAME, *names])

    def _head(self, record: LogRecord) -> tuple[str, str, str]:
        stamp = record.time.strftime("%H:%M:%S.") + f"{record.time.microsecond // 1000:03d}"
        mark = STDERR_MARK if record.stream == "stderr" else STDOUT_MARK
        return stamp, f"{record.source:<{self._width}}", mark

    def _body(self, record: LogRecord) -> str:
        text = plain_text(record.message) if record.stream else record.message
        if len(text) > MAX_SHOWN:
            text = f"{text[:MAX_SHOWN]}... ({len(text) - MAX_SHOWN} more characters in its log)"
        return text if record.stream else level_prefix(record.level) + text

    def plain(self, record: LogRecord) -> str:
        stamp, name, mark = self._head(record)
        return f"{stamp} {name} {mark} {self._body(record)}"

    def rich(self, record: LogRecord, width: int | None = None) -> Text:
        """The coloured line; wider than `width` cells, it is wrapped with each continuation
        line indented under the message, so that the columns stay readable."""
        line = self._rich_line(record)
        if width is None or line.cell_len <= width:
            return line
        indent = self.message_column(record)
        if width - indent < MIN_WRAPPED:
            return line  # too narrow to indent: the terminal wraps it
        from rich.text import Text

        head, message = line[:indent], line[indent:]
        wrapped = message.wrap(_measuring_console(), width - indent, overflow="fold")
        return head + Text("\n" + " " * indent).join(wrapped)

    def message_column(self, record: LogRecord) -> int:
        """Where the message starts: after the timestamp, the padded name and the mark."""
        stamp, name, mark = self._head(record)
        return len(f"{stamp} {name} {mark} ")

    def _rich_line(self, record: LogRecord) -> Text:
        from rich.text import Text

        stamp, name, mark = self._head(record)
        line = Text(f"{stamp} ", style="dim")
        if record.stream:
            line.append(name, style=self.palette.colour(record.source))
            line.append(f" {mark} ", style="red" if mark == STDERR_MARK else "dim")
            message = record.message
            if "\x1b" in message and len(message) <= MAX_SHOWN:
                # Keep the component's own colours; what would move the cursor is dropped.
                line.append_text(Text.from_ansi(message))
            else:
                line.append(self._body(record))
        else:
            line.append(name, style="bold")
            line.append(f" {mark} ", style="dim")
            line.append(self._body(record), style=LEVEL_STYLES.get(record.level, ""))
        return line


@functools.cache
def _measuring_console() -> Console:
    """Text.wrap asks a Console only how wide characters are: any one will do."""
    from rich.console import Console

    return Console(width=1000, color_system=None)


def json_line(record: LogRecord) -> str:
    """One JSON object: time, level, message, and component/stream where they apply."""
    data: dict[str, str] = {
        "time": record.time.isoformat(timespec="milliseconds"),
        "level": record.level,
        "message": plain_text(record.message) if record.stream else record.message,
    }
    if record.component is not None:
        data["component"] = record.component
    if record.stream is not None:
        data["stream"] = record.stream
    return json.dumps(data, ensure_ascii=False)
