"""The watchdog: a small process that stops a run's processes if flowctl vanishes.

flowctl starts it first, in its own session, with the read end of a pipe whose only write
end flowctl holds. flowctl announces each component's process group on the pipe. When the
pipe reaches end-of-file, flowctl has exited: normally (it wrote "stop" first, and has
stopped everything already), or killed, even by SIGKILL, since the kernel closes a dead
process's files. Then the watchdog signals every announced group and every process that
carries the run's mark (members.py): SIGTERM, a short grace, SIGKILL until none is left.
When the run used a container engine (flowctl announced it on the pipe), the watchdog then
removes every container labelled with the run (container_sweep.py), in both cases.

    python -m flowctl.orchestrator.watchdog --fd 5 --run-id RUN --parent PID --grace 1

Stdlib only (the package's __init__ loads lazily), so that it starts quickly.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import time

from flowctl.orchestrator import container_sweep
from flowctl.orchestrator.members import ProcessSet
from flowctl.orchestrator.run_tag import run_prefix

STOP = b"stop"
KILL_LIMIT = 5.0  # SIGKILL takes effect at once, unless a process is stuck in the kernel


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="flowctl-watchdog")
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--parent", type=int, required=True)
    parser.add_argument("--grace", type=float, default=1.0)
    args = parser.parse_args(argv)
    # Only the pipe ends the watchdog: a Ctrl+C or `kill` meant for flowctl must not.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    run = ProcessSet(prefix=run_prefix(args.run_id))
    finished = False
    engines: set[str] = set()
    with os.fdopen(args.fd, "rb") as pipe:
        for line in pipe:
            command = line.strip()
            if command == STOP:
                finished = True
            elif command[:1] == b"+":
                run.pgids.add(int(command[1:]))
            elif command[:1] == b"-":
                run.pgids.discard(int(command[1:]))
            elif command[:1] == b"e":
                engines.add(command[1:].decode())
    if finished:
        _kill_until_gone(run)  # flowctl stopped everything itself; this is a last look
        _remove_containers(engines, args.run_id, quiet=True)
        return 0
    left = run.live()
    if left:
        run.signal(signal.SIGTERM)
        _tell(f"flowctl (pid {args.parent}) is gone; stopping the {len(left)} processes of its run")
        _wait_until_gone(run, args.grace)
        _kill_until_gone(run)
    _remove_containers(engines, args.run_id, quiet=False)
    return 0


def _remove_containers(engines: set[str], run_id: str, *, quiet: bool) -> None:
    for url in engines:
        try:
            removed = container_sweep.remove_run_containers(url, run_id)
        except (OSError, ValueError) as error:
            _tell(f"cannot remove the containers of run {run_id} at {url}: {error}")
            continue
        if removed and not quiet:
            _tell(f"removed the {removed} containers of its run")


def _tell(message: str) -> None:
    """One line for the user, if anyone still reads flowctl's stderr: its reader may be gone
    with it (a closed terminal, a killed pipe), and that must not stop the watchdog."""
    with contextlib.suppress(OSError, ValueError):
        print(f"flowctl watchdog: {message}", file=sys.stderr, flush=True)


def _wait_until_gone(run: ProcessSet, limit: float) -> bool:
    deadline = time.monotonic() + limit
    delay = 0.005
    while run.live():
        if time.monotonic() >= deadline:
            return False
        time.sleep(delay)
        delay = min(delay * 2, 0.1)
    return True


def _kill_until_gone(run: ProcessSet) -> None:
    """SIGKILL, look again, repeat: a process forking right now is caught on the next look."""
    deadline = time.monotonic() + KILL_LIMIT
    while run.live() and time.monotonic() < deadline:
        run.signal(signal.SIGKILL)
        time.sleep(0.01)


if __name__ == "__main__":
    sys.exit(main())
