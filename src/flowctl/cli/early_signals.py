"""Stop signals that arrive while `flowctl run` is still starting.

Between the first line of `main()` and the moment trio's signal receiver is open, the
imports, the pipeline check and trio's own start take a few hundred milliseconds. Python's
default SIGINT handler would raise KeyboardInterrupt anywhere in there (a traceback, or an
exit 130 with no word), and SIGTERM or SIGHUP would end flowctl at once. Instead, this
handler only notes the signal; the run looks at the note once its receiver is open and
stops cleanly (exit 0, `stopped`).

It is installed before any other import, and imports `_signal`, the C module under
`signal`: `signal` loads enum, functools and collections, half the time between the
interpreter's start and this handler, in which Ctrl+C is still Python's.
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # no stub; the API is signal.signal's

STOP_SIGNALS: tuple[int, ...] = (_signal.SIGINT, _signal.SIGTERM, _signal.SIGHUP)

_received: list[int] = []


def _note(signum: int, frame: object) -> None:
    _received.append(signum)


def defer_stop_signals() -> None:
    """From now on a stop signal is noted, not acted on, until a receiver takes over."""
    for signum in STOP_SIGNALS:
        _signal.signal(signum, _note)
    # Started by a process that blocked them, they would never reach the run: a blocked
    # signal stays pending (and is delivered here, now) instead of stopping anything.
    _signal.pthread_sigmask(_signal.SIG_UNBLOCK, STOP_SIGNALS)


def take_received() -> list[int]:
    """The stop signals noted so far (oldest first), forgotten once taken."""
    taken = list(_received)
    _received.clear()
    return taken
