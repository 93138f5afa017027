"""Looking for a component's processes (members.py) from trio, without blocking the loop.

A look reads /proc (a few milliseconds with every environment): it runs in a worker
thread, so that the output pumps keep reading meanwhile, in the order output arrives.
"""

from __future__ import annotations

import trio

from flowctl.orchestrator.members import ProcessSet


async def live_members(members: ProcessSet) -> set[int]:
    return await trio.to_thread.run_sync(members.live)


async def wait_until_gone(members: ProcessSet) -> None:
    """Return once no member runs. Processes have no group-wide exit notification, so this
    polls, quickly at first (most groups empty within milliseconds of a signal)."""
    delay = 0.005
    while await live_members(members):
        await trio.sleep(delay)
        delay = min(delay * 2, 0.1)
