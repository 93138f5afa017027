"""10,000 services, the registry's limit: listed at once, refusing the next new id, and
never starving the heartbeats of the others while clients keep listing.

The control plane runs in this process so that it can be filled directly (registering
10,000 services one call at a time would take most of a minute); the clients are
grpcio and the real `flowctl list`.
"""

from __future__ import annotations

from pathlib import Path

import grpc
import trio
from cli.cli_helpers import run_flowctl
from hard_helpers import HEARTBEAT, LIST_SERVICES, REGISTER, RawClient, raw_client

from flowctl._proto import flowctl as pb
from flowctl.controlplane import EmbeddedControlPlane
from flowctl.controlplane.limits import DEFAULT_LIMITS

FULL = DEFAULT_LIMITS.max_services
GUARD = 120  # against hangs only


def fill(plane: EmbeddedControlPlane, count: int) -> None:
    for n in range(count):
        info = pb.ServiceInfo(
            service_id=f"svc-{n}", service_type=pb.ServiceType.PROCESSOR, metadata={"n": str(n)}
        )
        plane.registry.register(info)
        plane.registry.heartbeat(f"svc-{n}", {"total_processed": float(n), "error_count": 0.0})


async def test_ten_thousand_services_are_listed_and_the_next_new_one_is_refused(
    tmp_path: Path, flowctl_control_plane: EmbeddedControlPlane
) -> None:
    plane = flowctl_control_plane
    fill(plane, FULL)
    with raw_client(plane.endpoint) as client, trio.fail_after(GUARD):
        status, out, err = await run_flowctl(
            ["list", "--endpoint", plane.endpoint, "--output", "json"], cwd=tmp_path
        )
        assert status == 0, err
        assert out.count('"serviceId"') == FULL

        refused = await client.call(REGISTER, bytes(pb.ServiceInfo(service_type=1)))
        assert refused.code == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert f"holds {FULL} services" in refused.details
        again = pb.ServiceInfo(service_id="svc-7", service_type=pb.ServiceType.SINK)
        assert (await client.call(REGISTER, bytes(again))).code == grpc.StatusCode.OK
        assert len(plane.registry.list()) == FULL


async def test_heartbeats_are_answered_while_clients_list_a_thousand_services(
    flowctl_control_plane: EmbeddedControlPlane,
) -> None:
    plane = flowctl_control_plane
    fill(plane, 1000)
    answered: list[grpc.StatusCode] = []

    async def lists(client: RawClient) -> None:
        for _ in range(10):
            answer = await client.call(LIST_SERVICES)
            assert answer.code == grpc.StatusCode.OK and answer.body

    async def heartbeats(client: RawClient, first: int) -> None:
        for n in range(first, first + 25):
            body = bytes(pb.ServiceHeartbeat(service_id=f"svc-{n}", metrics={"n": float(n)}))
            answered.append((await client.call(HEARTBEAT, body)).code)

    with raw_client(plane.endpoint) as client, trio.fail_after(GUARD):
        async with trio.open_nursery() as nursery:
            for _ in range(10):  # 100 lists of 1,000 services
                nursery.start_soon(lists, client)
            for first in (0, 500):
                nursery.start_soon(heartbeats, client, first)
    assert answered == [grpc.StatusCode.OK] * 50
    assert plane.registry.get("svc-524").metrics == {"n": 524.0}
