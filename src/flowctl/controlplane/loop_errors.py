"""What the control plane's asyncio loop does with the errors asyncio reports to it.

asyncio reports trouble it cannot raise anywhere through `loop.call_exception_handler`:
accept() out of file descriptors, a connection's socket failing, a protocol callback
failing on one connection. trio-asyncio's default handler raises each one into its
nursery, so one exhausted fd table or one broken connection would stop the whole server
(and, in `flowctl run`, every component). Here, trouble that belongs to one connection or
to accepting new ones is logged and the server goes on; asyncio itself already closes the
connection, or stops accepting for a second and tries again. Anything else (an exception
in a callback or task not tied to a connection) still goes to the previous handler, so a
bug on the loop stays loud. A failing gRPC handler never gets here: grpclib answers the
call with UNKNOWN and logs the traceback itself (routed into flowctl's log).
"""

from __future__ import annotations

import asyncio
import errno
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from loguru import logger

Context = dict[str, Any]
ExceptionHandler = Callable[[asyncio.AbstractEventLoop, Context], object]

# What asyncio's accept loop backs off from (asyncio/selector_events.py).
_OUT_OF_RESOURCES = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
# While accepting keeps failing, asyncio retries every second: say it again this seldom.
_REPEAT_AFTER = 600.0


class AcceptTrouble:
    """Says when accepting fails for lack of resources: once, then at most every ten
    minutes per kind of failure while it goes on, with how often it happened since."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._said_at: dict[int, float] = {}
        self._since: dict[int, int] = {}

    def failed(self, error: OSError) -> None:
        code = error.errno or 0
        now = self._clock()
        said_at = self._said_at.get(code)
        if said_at is not None and now - said_at < _REPEAT_AFTER:
            self._since[code] = self._since.get(code, 0) + 1
            return
        again = self._since.pop(code, 0)
        self._said_at[code] = now
        name = errno.errorcode.get(code, str(code))
        logger.warning(
            f"control plane: cannot accept new connections: {os.strerror(code)} ({name}); "
            "retrying every second, open connections are still served"
            + (f" ({again} more times since it was last said)" if again else "")
        )


def is_connection_trouble(context: Context) -> bool:
    """Trouble confined to one connection (or to accepting one): the rest goes on."""
    return any(key in context for key in ("transport", "protocol", "socket"))


@contextmanager
def connection_errors_logged(loop: asyncio.AbstractEventLoop) -> Iterator[None]:
    """For the block, log connection trouble on `loop` instead of raising it."""
    accept_trouble = AcceptTrouble()
    previous: ExceptionHandler | None = loop.get_exception_handler()

    def handle(event_loop: asyncio.AbstractEventLoop, context: Context) -> None:
        error = context.get("exception")
        if not is_connection_trouble(context):
            if previous is not None:
                previous(event_loop, context)
            else:
                event_loop.default_exception_handler(context)
        elif isinstance(error, OSError) and error.errno in _OUT_OF_RESOURCES:
            accept_trouble.failed(error)
        elif error is None or isinstance(error, OSError):
            # A peer that vanished, a reset: routine for a server, seen with --log-level debug.
            logger.debug(f"control plane: connection closed: {_describe(context)}")
        else:
            # Not routine (a protocol callback failed): that connection is closed by asyncio,
            # the others are served; the traceback shows where.
            logger.opt(exception=error).error(
                f"control plane: a connection failed: {_describe(context)}"
            )

    loop.set_exception_handler(handle)
    try:
        yield
    finally:
        loop.set_exception_handler(previous)


def _describe(context: Context) -> str:
    message = str(context.get("message") or "error")
    error = context.get("exception")
    return f"{message} ({error!r})" if error is not None else message
