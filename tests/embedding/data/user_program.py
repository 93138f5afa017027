"""A user's trio program on flowctl's public API, type-checked with `mypy --strict` by
tests/embedding/test_public_api.py (it is data: never imported by the suite)."""

from __future__ import annotations

from collections.abc import Mapping

import trio

import flowctl
from flowctl.testing import PipelineFactory


async def run_and_report(path: str) -> float:
    options = flowctl.RunOptions(control_plane_port=0, registration_timeout=10.0)
    try:
        async with flowctl.open_pipeline(path, options=options) as run:
            ready: bool = await run.wait_ready()
            assert ready
            await run.wait_healthy(["src"])
            total: float = await run.wait_metric("src", "total", lambda value: value > 1.0)
            views: Mapping[str, flowctl.ComponentView] = run.components
            src = views["src"]
            state: flowctl.ComponentState = src.state
            pid: int | None = src.pid
            registration: flowctl.Registration | None = src.registration
            exit_status: flowctl.ExitStatus | None = src.exit_status
            print(state, pid, registration, exit_status, run.endpoint)
            return total
    except flowctl.ComponentFailed as failure:
        print(failure.component_id, failure.last_lines, failure.log_path)
        raise
    except (flowctl.RegistrationTimeout, flowctl.PortInUse, flowctl.PipelineError) as error:
        print(error.message)
        raise


async def control_plane_alone() -> list[str]:
    async with flowctl.open_control_plane(port=0) as plane:
        await plane.wait_registered(["mine"], timeout=10)
        records: list[flowctl.ServiceRecord] = await plane.list_services()
        status: flowctl.ServiceStatus = records[0].to_status()
        info = flowctl.ServiceInfo(service_id="x", service_type=flowctl.ServiceType(1))
        heartbeat = flowctl.ServiceHeartbeat(service_id=info.service_id, metrics={"n": 1.0})
        listing = flowctl.ServiceList(services=[status])
        ack = flowctl.RegistrationAck(service_id=heartbeat.service_id)
        return [ack.service_id, *(s.service_id for s in listing.services)]


async def a_test(flowctl_pipeline: PipelineFactory) -> None:
    async with flowctl_pipeline("pipeline.yaml", shutdown_grace=2.0) as run:
        with trio.fail_after(30):
            await run.wait_healthy()


pipeline: flowctl.Pipeline = flowctl.load_pipeline("pipeline.yaml")
error: flowctl.FlowctlError = flowctl.RunStopped("nothing")
