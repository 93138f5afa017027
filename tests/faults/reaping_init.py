"""Runs a command as its child and behaves like a real init for everything below it.

    python reaping_init.py flowctl run ...

It is a subreaper that reaps every process re-parented to it, and exits (with the command's
status) only once it has no child left. The SIGKILL test needs it: this machine's PID 1 may
not reap orphans, and a run killed with flowctl would then stay as zombies of PID 1.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import subprocess
import sys

PR_SET_CHILD_SUBREAPER = 36


def main() -> int:
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        print("reaping_init: cannot become a subreaper", file=sys.stderr)
        return 3
    command = subprocess.Popen(sys.argv[1:])
    status = 0
    while True:
        try:
            pid, wait_status = os.wait()  # any child: everything here is ours to reap
        except ChildProcessError:  # no child left at all
            return status
        if pid == command.pid:
            code = os.waitstatus_to_exitcode(wait_status)
            status = 128 - code if code < 0 else code


if __name__ == "__main__":
    sys.exit(main())
