"""`run.components` and the event-driven waits, through the `flowctl_pipeline` fixture
as a user's test suite gets it (the plugin is found through its entry point)."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio
from fake_component_command import fake_command

import flowctl
from flowctl import ComponentState
from flowctl.testing import PipelineFactory, write_pipeline

HANG_GUARD = 60  # only against hangs: every wait below ends on an event


def two_stage(tmp_path: Path, *, sink: tuple[str, ...] = ()) -> Path:
    return write_pipeline(
        tmp_path / "pipeline.yaml",
        sources=[{"id": "src", "command": fake_command("--heartbeat", "0.05")}],
        sinks=[
            {
                "id": "sink",
                "inputs": ["src"],
                "command": fake_command("--register", "metadata", "--type", "sink", *sink),
            }
        ],
    )


async def test_components_show_state_pid_and_registration_live(
    flowctl_pipeline: PipelineFactory, tmp_path: Path
) -> None:
    with trio.fail_after(HANG_GUARD):
        async with flowctl_pipeline(two_stage(tmp_path)) as run:
            view = run.components  # one mapping, kept current
            await run.wait_healthy()
            assert list(view) == ["src", "sink"]
            assert {c.state for c in view.values()} == {ComponentState.HEALTHY}
            assert view["src"].registration == flowctl.Registration("src", "by id")
            assert view["sink"].registration == flowctl.Registration("sink", "by metadata")
            assert all(c.pid and c.exit_status is None for c in view.values())
            with pytest.raises(TypeError):
                view["src"] = view["sink"]  # type: ignore[index]  # read-only
            await run.stop()
            assert {c.state for c in view.values()} == {ComponentState.EXITED}
            assert all(c.stop_requested and c.exit_status for c in view.values())


async def test_wait_metric_sees_each_heartbeat_and_returns_the_value(
    flowctl_pipeline: PipelineFactory, tmp_path: Path
) -> None:
    with trio.fail_after(HANG_GUARD):
        async with flowctl_pipeline(two_stage(tmp_path)) as run:
            # beats counts up by one per heartbeat: exactly 3 is seen, never skipped.
            assert await run.wait_metric("src", "beats", lambda beats: beats == 3) == 3
            assert run.components["src"].heartbeats >= 3
            assert await run.wait_metric("src", "beats") >= 3  # any value


async def test_a_component_exiting_fails_a_wait_instead_of_hanging(
    flowctl_pipeline: PipelineFactory, tmp_path: Path
) -> None:
    path = two_stage(tmp_path, sink=("--lines", "2", "--exit-after", "0.5", "--exit-code", "5"))
    with trio.fail_after(HANG_GUARD), pytest.raises(flowctl.ComponentFailed) as caught:
        async with flowctl_pipeline(path) as run:
            await run.wait_metric("sink", "never-sent")
    assert caught.value.component_id == "sink"
    assert "status 5" in str(caught.value)
    assert run.components["sink"].exit_status == flowctl.ExitStatus(5)
    assert run.components["src"].stop_requested


async def test_waits_on_a_stopped_run_raise_run_stopped(
    flowctl_pipeline: PipelineFactory, tmp_path: Path
) -> None:
    with trio.fail_after(HANG_GUARD):
        async with flowctl_pipeline(two_stage(tmp_path)) as run:
            await run.wait_healthy(["src"])
            async with trio.open_nursery() as nursery:
                nursery.start_soon(run.stop)
                with pytest.raises(flowctl.RunStopped, match="metric 'never-sent' of 'src'"):
                    await run.wait_metric("src", "never-sent")
        with pytest.raises(flowctl.RunStopped):
            await run.wait_healthy()


async def test_waits_refuse_unknown_ids_and_pass_on_predicate_errors(
    flowctl_pipeline: PipelineFactory, tmp_path: Path
) -> None:
    def broken(value: float) -> bool:
        raise ArithmeticError("the predicate's own bug")

    with trio.fail_after(HANG_GUARD):
        async with flowctl_pipeline(two_stage(tmp_path)) as run:
            with pytest.raises(ValueError, match=r"not a component .*: nope \(its components"):
                await run.wait_healthy(["src", "nope"])
            with pytest.raises(ArithmeticError, match="own bug"):
                await run.wait_metric("src", "beats", broken)
            await run.wait_healthy("src")  # one id, and the run is still fine


@pytest.mark.flowctl(registration_timeout="1s")
async def test_the_marker_sets_the_registration_timeout(
    flowctl_pipeline: PipelineFactory, tmp_path: Path
) -> None:
    # The component never registers, by construction: 1 s cannot be "too short" for it.
    path = write_pipeline(
        tmp_path / "p.yaml", sources=[{"id": "src", "command": fake_command("--register", "never")}]
    )
    with trio.fail_after(HANG_GUARD), pytest.raises(flowctl.RegistrationTimeout) as caught:
        async with flowctl_pipeline(path) as run:
            await run.wait_ready()
    assert str(caught.value).startswith("registration timed out after 1s: 'src' never")


async def test_the_control_plane_fixture_serves_a_component_started_by_hand(
    flowctl_control_plane: flowctl.EmbeddedControlPlane,
) -> None:
    env = {"FLOWCTL_ENDPOINT": flowctl_control_plane.endpoint, "FLOWCTL_SERVICE_ID": "mine"}
    with trio.fail_after(HANG_GUARD):
        async with trio.open_nursery() as nursery:
            process = await nursery.start(
                lambda task_status: trio.run_process(
                    fake_command(), env=env, check=False, task_status=task_status
                )
            )
            await flowctl_control_plane.wait_registered(["mine"], timeout=HANG_GUARD)
            process.kill()
    assert [r.service_id for r in await flowctl_control_plane.list_services()] == ["mine"]
