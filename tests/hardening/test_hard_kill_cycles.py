"""`flowctl server` killed with SIGKILL while clients register and heartbeat: every call
it acknowledged is in its registry after the restart, over several cycles."""

from __future__ import annotations

import signal
from pathlib import Path

import grpc
import trio
from cli.cli_helpers import start_flowctl
from hard_helpers import HEARTBEAT, LIST_SERVICES, REGISTER, RawClient, raw_client

from flowctl._proto import flowctl as pb

CYCLES = 3
CALLERS = 4
ACKS_BEFORE_THE_KILL = 40  # per cycle, counted over all callers
GUARD = 60  # against hangs only


async def test_no_acknowledged_call_is_lost_to_sigkill(tmp_path: Path) -> None:
    db = tmp_path / "registry.sqlite3"
    acknowledged: dict[str, float] = {}  # service id -> the last metric value acknowledged

    for cycle in range(CYCLES):
        async with trio.open_nursery() as nursery:
            server = await start_flowctl(
                nursery, ["server", "--port", "0", "--db-path", str(db)], cwd=tmp_path
            )
            endpoint = await server.endpoint()
            enough = trio.Event()
            with raw_client(endpoint) as client, trio.fail_after(GUARD):
                async with trio.open_nursery() as callers:
                    for caller in range(CALLERS):
                        callers.start_soon(
                            register_and_heartbeat, client, f"c{cycle}-{caller}", acknowledged,
                            enough,
                        )  # fmt: skip
                    await enough.wait()
                    server.send_signal(signal.SIGKILL)  # calls are in flight
            assert await server.wait(timeout=GUARD) == -signal.SIGKILL

    async with trio.open_nursery() as nursery:
        server = await start_flowctl(
            nursery, ["server", "--port", "0", "--db-path", str(db)], cwd=tmp_path
        )
        with raw_client(await server.endpoint()) as client:
            answer = await client.call(LIST_SERVICES)
        server.send_signal(signal.SIGTERM)
        assert await server.wait(timeout=GUARD) == 0, server.output
    assert answer.body is not None
    stored = {
        s.service_id: s.metrics.get("n") for s in pb.ServiceList().parse(answer.body).services
    }
    assert len(acknowledged) >= CYCLES * ACKS_BEFORE_THE_KILL // 2
    lost = {sid: n for sid, n in acknowledged.items() if sid not in stored}
    assert not lost, f"{len(lost)} acknowledged registrations lost"
    stale = {sid: (n, stored[sid]) for sid, n in acknowledged.items() if (stored[sid] or 0) < n}
    assert not stale, f"acknowledged heartbeats lost: {stale}"


async def register_and_heartbeat(
    client: RawClient, prefix: str, acknowledged: dict[str, float], enough: trio.Event
) -> None:
    """Register services one after another, each with one heartbeat, until a call fails
    (the server was killed); record what the server acknowledged."""
    for n in range(10_000):
        service_id = f"{prefix}-{n}"
        info = pb.ServiceInfo(service_id=service_id, service_type=pb.ServiceType.SOURCE)
        if (await client.call(REGISTER, bytes(info), timeout=10)).code != grpc.StatusCode.OK:
            return
        acknowledged[service_id] = 0.0
        beat = pb.ServiceHeartbeat(service_id=service_id, metrics={"n": float(n + 1)})
        if (await client.call(HEARTBEAT, bytes(beat), timeout=10)).code != grpc.StatusCode.OK:
            return
        acknowledged[service_id] = float(n + 1)
        if len(acknowledged) % ACKS_BEFORE_THE_KILL == 0:
            enough.set()
