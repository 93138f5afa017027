"""flowctl's own messages go through loguru, into the same writer as component output."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from loguru import logger

from flowctl.console.log_record import LogRecord

LogLevel = Literal["debug", "info", "warning", "error"]


def configure_logging(write: Callable[[LogRecord], None], level: LogLevel = "info") -> None:
    """Route every loguru message to `write`; `logger.bind(component=...)` names the
    component a message is about (the `component` field of JSON lines)."""

    def sink(message: Any) -> None:
        record = message.record
        write(
            LogRecord(
                time=record["time"],
                level=record["level"].name,
                message=record["message"],
                component=record["extra"].get("component"),
            )
        )

    logger.remove()
    # catch=False: a broken sink is a bug to see in tests, not a message on stderr.
    logger.add(sink, level=level.upper(), format="{message}", colorize=False, catch=False)
