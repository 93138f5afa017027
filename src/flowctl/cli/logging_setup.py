"""flowctl's own messages go through loguru, into the same writer as component output.

The libraries under the control plane (asyncio, grpclib, h2, hpack) log through the
standard library's `logging`; those records are routed into loguru too, so that every
line flowctl prints has its format (one JSON object per line with --log-format json),
never a bare line on stderr.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from typing import Any, Literal

from loguru import logger

from flowctl.console.log_record import LogRecord

LogLevel = Literal["debug", "info", "warning", "error"]

# Below these levels, a library's records are routine for a server (a peer that went
# away, a call a client cancelled), so they are shown only with --log-level debug.
# asyncio: `socket.send() raised exception.` after a client dropped its connection;
# grpclib: `Request was cancelled`, `Deadline exceeded`.
# httpx (the container engine's client): one INFO line per HTTP request to the engine.
_ROUTINE_BELOW = {"asyncio": logging.ERROR, "grpclib": logging.WARNING, "httpx": logging.WARNING}
# Their debug records are about HTTP/2 frames and header bytes (hpack: several lines per
# call), of no use to flowctl's users: only their warnings and errors are shown.
_QUIET_LIBRARIES = ("h2", "hpack", "httpcore")


def configure_logging(write: Callable[[LogRecord], None], level: LogLevel = "info") -> None:
    """Route every loguru message (and every stdlib `logging` record) to `write`;
    `logger.bind(component=...)` names the component a message is about (the
    `component` field of JSON lines)."""

    def sink(message: Any) -> None:
        record = message.record
        text = record["message"]
        if record["exception"] is not None:
            kind, error, trace = record["exception"]
            text += "\n" + "".join(traceback.format_exception(kind, error, trace)).rstrip()
        write(
            LogRecord(
                time=record["time"],
                level=_LEVEL_NAMES.get(record["level"].name, record["level"].name),
                message=text,
                component=record["extra"].get("component"),
            )
        )

    logger.remove()
    # catch=False: a broken sink is a bug to see in tests, not a message on stderr.
    logger.add(sink, level=level.upper(), format="{message}", colorize=False, catch=False)
    # Records below the level are not even made (hpack logs every header block at debug).
    logging.basicConfig(handlers=[_InterceptHandler()], level=level.upper(), force=True)
    logging.captureWarnings(True)  # Python's warnings too, as the `py.warnings` logger
    for name in _QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)


# The console knows loguru's four levels; CRITICAL is shown as an error.
_LEVEL_NAMES = {"CRITICAL": "ERROR", "SUCCESS": "INFO", "TRACE": "DEBUG"}


class _InterceptHandler(logging.Handler):
    """A stdlib record as a loguru message (loguru's documented InterceptHandler)."""

    def emit(self, record: logging.LogRecord) -> None:
        library = record.name.partition(".")[0]
        if record.levelno < _ROUTINE_BELOW.get(library, logging.NOTSET):
            level = "DEBUG"
        elif record.levelno >= logging.ERROR:
            level = "ERROR"
        elif record.levelno >= logging.WARNING:
            level = "WARNING"
        elif record.levelno >= logging.INFO:
            level = "INFO"
        else:
            level = "DEBUG"
        error = record.exc_info if record.exc_info and record.exc_info[0] else None
        logger.opt(exception=error).log(level, f"{record.name}: {record.getMessage()}")
