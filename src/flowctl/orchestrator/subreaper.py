"""PR_SET_CHILD_SUBREAPER: orphans of the run are re-parented to flowctl, not to init.

A double-forked daemon's parent exits at once, so the daemon would become init's child
and leave flowctl's process tree. As a subreaper, flowctl adopts it instead: it stays
visible as flowctl's child, and flowctl must reap it when it exits (adopted.py).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> bool:
    """Make this process a subreaper; False where Linux's prctl is not available."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def stop_being_subreaper() -> None:
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
            libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
        except (OSError, AttributeError):
            pass
