"""What flowctl asks of the terminal it writes to: whether it is one, whether it echoes
Ctrl+C as `^C`, and its modes while `flowctl run` owns it.

Ctrl+C makes the terminal driver discard the output it holds and the screen has not shown
yet (POSIX: ISIG without NOFLSH). Most programs die of that Ctrl+C, so nothing is lost that
mattered; flowctl goes on writing, and what it wrote just before is gone: log lines, the
newline the ^C echo should follow, or half a redraw of the live view, which then erases
lines above itself (it moves up by what it believes it drew). So while the run lasts, the
terminal keeps its output on Ctrl+C (NOFLSH), and gets its modes back at the end.
"""

from __future__ import annotations

import contextlib
import signal
import termios
from collections.abc import Iterator
from typing import Any, TextIO


def is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def echoes_control_keys(stream: TextIO) -> bool:
    """Whether `stream` is a terminal that echoes Ctrl+C as `^C` where its cursor is."""
    try:
        local_modes = termios.tcgetattr(stream.fileno())[3]
    except (AttributeError, ValueError, OSError, termios.error):
        return False
    return bool(local_modes & termios.ECHO and local_modes & termios.ECHOCTL)


@contextlib.contextmanager
def output_kept_through_ctrl_c(*streams: TextIO) -> Iterator[None]:
    """Set NOFLSH on the first of `streams` that is a terminal, and restore its modes on
    the way out. Does nothing when none is a terminal or its modes cannot be changed."""
    fd = next((stream.fileno() for stream in streams if is_terminal(stream)), None)
    original = _modes(fd) if fd is not None else None
    if fd is None or original is None or original[3] & termios.NOFLSH:
        yield  # nothing to change (or nothing that can be)
        return
    changed = [*original[:3], original[3] | termios.NOFLSH, *original[4:]]
    changed_it = _set_modes(fd, changed)
    try:
        yield
    finally:
        if changed_it:
            _set_modes(fd, original)


def _modes(fd: int) -> list[Any] | None:
    try:
        return termios.tcgetattr(fd)
    except (termios.error, OSError):
        return None


def _set_modes(fd: int, modes: list[Any]) -> bool:
    # From a background process group, tcsetattr stops the process with SIGTTOU (`flowctl
    # run p.yaml &`) unless SIGTTOU is blocked; blocked, the change is allowed.
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTTOU})
    try:
        termios.tcsetattr(fd, termios.TCSANOW, modes)
        return True
    except (termios.error, OSError):
        return False
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
