"""How often and after how long a component that exited is started again (its policy).

The delay starts at `restart_delay` and doubles at each restart, up to MAX_RESTART_DELAY.
A process that ran for RECOVERED_AFTER seconds counts as recovered: the count and the delay
start again from the beginning, so a flaky sink that fails once a day is not given up on
after its fifth day.
"""

from __future__ import annotations

from flowctl.pipeline.lifecycle import RestartPolicy

MAX_RESTART_DELAY = 30.0
RECOVERED_AFTER = 10.0  # seconds a process must run for the restart count to be reset
_EXITS_KEPT = 5  # the last exits named when the restarts run out


class RestartBudget:
    """The restarts one component has left, and its last exits (for the failure message)."""

    def __init__(self, policy: RestartPolicy) -> None:
        self.policy = policy
        self.restarts = 0  # since the last recovery
        self.exits: list[str] = []

    def next_delay(self, returncode: int, description: str, ran_for: float) -> float | None:
        """The wait before the next start, or None when the policy does not restart now
        (the exit is not one it restarts, or the restarts ran out)."""
        self.exits = [*self.exits, description][-_EXITS_KEPT:]
        if ran_for >= RECOVERED_AFTER:
            self.restarts = 0
        if not self.policy.restarts_after(returncode):
            return None
        if self.restarts >= self.policy.max_restarts:
            return None
        delay = min(self.policy.delay * 2**self.restarts, MAX_RESTART_DELAY)
        self.restarts += 1
        return delay

    def gave_up(self) -> str:
        """What the failure adds once restarts were made: "; restarted 5 times
        (max_restarts 5), its last exits: status 3, status 3, ..."; "" without restarts."""
        if not self.restarts:
            return ""
        times = "once" if self.restarts == 1 else f"{self.restarts} times"
        return (
            f"; restarted {times} (max_restarts {self.policy.max_restarts}), "
            f"its last exits: {', '.join(self.exits)}"
        )
