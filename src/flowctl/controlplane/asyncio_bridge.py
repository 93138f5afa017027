"""trio-asyncio's event loop, running the asyncio callbacks already queued in one go.

trio-asyncio runs asyncio's callbacks one per pass of trio's scheduler: after each one,
its loop task checkpoints (a full pass: an epoll call, the run queue) before taking the
next from its queue. A unary call queues several (the request task's steps, the reader's
synchronisation, the response's write), so at a heartbeat a second from each of a hundred
components most of the control plane's time went into these passes. Here the loop takes
what is already queued, and the timers already due, without a checkpoint in between, as
asyncio's own loop runs every ready callback in one iteration; then it waits (and
checkpoints) as trio-asyncio does. The order of the callbacks is unchanged, and a batch is
bounded, so trio's other tasks still run between batches.

Only the loop flowctl opens itself gets this (`drain_queued_callbacks`), never a loop
that an embedding program opened.
"""

from __future__ import annotations

from typing import Any

import trio
from trio_asyncio import TrioEventLoop

# At most this many callbacks between two checkpoints (asyncio runs all that are ready).
_BATCH = 64


class _DrainingTrioEventLoop(TrioEventLoop):  # trio_asyncio is untyped: Any
    async def _main_loop_one(self, no_wait: bool = False) -> None:
        await super()._main_loop_one(no_wait)
        if no_wait:  # trio-asyncio's own draining at the loop's exit: one at a time
            return
        for _ in range(_BATCH - 1):
            try:
                # A due timer or a queued callback, else WouldBlock: nothing more is ready.
                await super()._main_loop_one(no_wait=True)
            except trio.WouldBlock:
                return


def drain_queued_callbacks(loop: Any) -> None:
    """Make a loop just opened by `trio_asyncio.open_loop()` take its queued callbacks in
    batches (its running main loop picks the method up at its next callback)."""
    if type(loop) is TrioEventLoop:
        loop.__class__ = _DrainingTrioEventLoop
