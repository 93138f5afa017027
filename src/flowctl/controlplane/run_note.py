"""What the run says about a registration's component, beyond the registration's health.

A registration's health comes from its heartbeats, and the wire contract says no more. The
run knows more: the component's process exited and is restarted in 4 s, or it was a job
that completed (its registration goes silent, which is no failure). The runner notes it
on the registrations attached to the component, and flowctl.inspect serves it
(ServiceAttachment.run_state), so `flowctl list` shows what the live view shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

RESTARTING = "restarting"  # the process exited; the restart policy starts it again
WAITING_TO_REGISTER = "waiting to register"  # started again; this registration is the old one
COMPLETED = "completed"  # a job that exited 0

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class RunNote:
    """The run's word for a component (`state`, one of the names above) and, while it is
    `restarting`, which restart comes, of how many, and when (wall clock, UTC)."""

    state: str
    restart_attempt: int = 0
    max_restarts: int = 0
    next_start: datetime | None = None

    @property
    def next_start_unix_ms(self) -> int:
        """`next_start` in milliseconds since the Unix epoch (0 when unknown), as sent."""
        if self.next_start is None:
            return 0
        return (self.next_start - _EPOCH) // timedelta(milliseconds=1)
