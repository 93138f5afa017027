"""flowctl's own messages go through loguru, written in the same prefixed column as components."""

from __future__ import annotations

from typing import Any

import trio
from loguru import logger

from flowctl.console.event_log import describe_event
from flowctl.console.log_printer import FLOWCTL_PREFIX, LogPrinter
from flowctl.events import Event


def configure_logging(printer: LogPrinter, level: str = "INFO") -> None:
    def sink(message: Any) -> None:
        printer.write(FLOWCTL_PREFIX, message.record["message"])

    logger.remove()
    logger.add(sink, level=level, format="{message}", colorize=False)


async def log_events(channel: trio.MemoryReceiveChannel[Event]) -> None:
    """Log each lifecycle event as it arrives."""
    async for event in channel:
        text = describe_event(event)
        if text:
            logger.info(text)
