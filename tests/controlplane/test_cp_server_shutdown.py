"""A server closing with requests accepted but not yet started leaves nothing behind: no
coroutine is left never awaited (it used to warn at every in-process run's shutdown)."""

from __future__ import annotations

import asyncio
import gc
import warnings

from grpclib.encoding.proto import ProtoCodec

from flowctl.controlplane.grpc_server import _ConnectionHandler


def test_requests_cancelled_before_they_start_leave_no_coroutine_unawaited() -> None:
    async def accept_then_close() -> None:
        handler = _ConnectionHandler({}, ProtoCodec(), None, None)  # type: ignore[arg-type]
        for _ in range(3):
            # Accepted; the loop has not run the request's task yet when the server closes.
            handler.accept(object(), [], lambda: None)  # type: ignore[arg-type]
        handler.close()
        await handler.wait_closed()
        assert handler.check_closed()

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        asyncio.run(accept_then_close())
        gc.collect()
    assert [str(w.message) for w in caught if w.category is RuntimeWarning] == []
