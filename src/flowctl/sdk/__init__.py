"""flowctl.sdk: the component side of flowctl, for programs that run inside a pipeline.

`flowctl run` starts every component with ENABLE_FLOWCTL=true and tells it where the control
plane is (FLOWCTL_ENDPOINT), how often to heartbeat (FLOWCTL_HEARTBEAT_INTERVAL) and who it
is (FLOWCTL_SERVICE_ID, FLOWCTL_COMPONENT_ID). This package turns that into a registration and
a heartbeat loop, with asyncio and grpclib only (no trio), so a component starts fast.

The usual entry point is `run_component`::

    import sys
    from flowctl.sdk import StopToken, run_component

    processed = 0

    async def work(stop: StopToken) -> None:
        global processed
        while not stop.is_set:
            processed += 1            # ... do one unit of real work ...
            await stop.sleep(1.0)     # or any await: work is cancelled on SIGTERM anyway

    sys.exit(
        run_component(
            service_type="source",    # or flowctl._proto.flowctl.ServiceType.SOURCE
            output_event_types=["raw_ledger_service.RawLedgerChunk"],
            metrics=lambda: {"total_processed": processed},
            work=work,
        )
    )

`run_component` reads the environment (`ComponentSettings.from_env`), registers (retrying
with a short backoff while the control plane is not up yet), heartbeats every interval with
what `metrics()` returns, and runs `work(stop)` until it returns or SIGTERM/SIGINT arrives;
then it sets `stop`, cancels `work`, closes the connection and returns the exit status:
0 after `work` returned or a signal, 1 when `work` raised or registration failed, 2 when the
FLOWCTL_* environment is unusable (the message names the variable). Without
ENABLE_FLOWCTL=true it only runs `work`. With `work=None` it runs until a signal.

For programs with their own asyncio loop, `ControlPlaneClient` is the same machinery without
the process handling::

    async with ControlPlaneClient(ComponentSettings.from_env(), ServiceDescription("sink")) as c:
        await c.register()
        heartbeats = asyncio.create_task(c.heartbeat_forever(my_metrics))

Registration sends FLOWCTL_SERVICE_ID as service_id and FLOWCTL_COMPONENT_ID as
metadata["component_id"], keeps the id from the ack, and heartbeats with it. A heartbeat
answered NOT_FOUND (the control plane restarted and forgot us) registers again. The SDK logs
to the `flowctl.sdk` logger; `run_component` sends INFO and above to stderr unless the
program configured logging itself.
"""

from flowctl.sdk.client import (
    ControlPlaneClient,
    MetricsSource,
    RegistrationRejected,
    ServiceDescription,
    service_type_from,
)
from flowctl.sdk.component import StopToken, Work, run_component
from flowctl.sdk.settings import ComponentSettings, parse_endpoint

__all__ = [
    "ComponentSettings",
    "ControlPlaneClient",
    "MetricsSource",
    "RegistrationRejected",
    "ServiceDescription",
    "StopToken",
    "Work",
    "parse_endpoint",
    "run_component",
    "service_type_from",
]
