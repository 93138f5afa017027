"""README "How a run works", step 3: the environment each component gets, as the component
itself sees it under a real `flowctl run`."""

from __future__ import annotations

import signal
from pathlib import Path

import trio
from promise_helpers import cli_env, noted_environment, noting_command, run_args, start_flowctl

from flowctl.testing import write_pipeline


async def test_each_component_gets_the_flowctl_environment_and_its_env_wins(
    tmp_path: Path,
) -> None:
    notes = tmp_path / "starts"
    plain_env, custom_env = tmp_path / "plain.json", tmp_path / "custom.json"
    path = write_pipeline(
        tmp_path / "p.yaml",
        sources=[
            {"id": "plain", "command": noting_command(tmp_path, notes, env_file=plain_env)},
            {
                "id": "custom",
                "command": noting_command(tmp_path, notes, env_file=custom_env),
                "env": {
                    "FLOWCTL_HEARTBEAT_INTERVAL": "7s",
                    "PYTHONUNBUFFERED": "",
                    "FROM_THE_PIPELINE": "yes",
                    "FLOWCTL_RUN_ID": "not-the-run",  # flowctl's mark: never overridden
                },
            },
        ],
    )
    env = cli_env(FROM_FLOWCTLS_ENVIRONMENT="inherited")
    env.pop("PYTHONUNBUFFERED", None)
    args = run_args(path, tmp_path, "--heartbeat-interval", "1500ms")
    async with trio.open_nursery() as nursery:
        flowctl = await start_flowctl(nursery, args, cwd=tmp_path, env=env)
        endpoint = await flowctl.endpoint()
        await flowctl.wait_for_line(r"all 2 components registered")
        flowctl.send_signal(signal.SIGINT)
        assert await flowctl.wait() == 0, flowctl.output

    plain = noted_environment(plain_env)
    assert plain["ENABLE_FLOWCTL"] == "true"
    assert plain["FLOWCTL_ENDPOINT"] == endpoint
    assert plain["FLOWCTL_HEARTBEAT_INTERVAL"] == "1.5s"
    assert plain["FLOWCTL_SERVICE_ID"] == plain["FLOWCTL_COMPONENT_ID"] == "plain"
    assert plain["PYTHONUNBUFFERED"] == "1"  # unset in flowctl's environment: added
    assert plain["FROM_FLOWCTLS_ENVIRONMENT"] == "inherited"
    run_id, _, component = plain["FLOWCTL_RUN_ID"].rpartition("/")
    assert run_id and component == "plain"

    custom = noted_environment(custom_env)
    assert custom["FLOWCTL_HEARTBEAT_INTERVAL"] == "7s"  # the pipeline's env: wins
    assert custom["PYTHONUNBUFFERED"] == ""  # set (even empty): left as it is
    assert custom["FROM_THE_PIPELINE"] == "yes"
    assert custom["ENABLE_FLOWCTL"] == "true" and custom["FLOWCTL_ENDPOINT"] == endpoint
    assert custom["FLOWCTL_RUN_ID"] == f"{run_id}/custom"  # the same run's mark


async def test_pythonunbuffered_set_for_flowctl_is_kept(tmp_path: Path) -> None:
    notes, seen = tmp_path / "starts", tmp_path / "seen.json"
    path = write_pipeline(
        tmp_path / "p.yaml",
        sources=[{"id": "src", "command": noting_command(tmp_path, notes, env_file=seen)}],
    )
    env = cli_env(PYTHONUNBUFFERED="0")
    async with trio.open_nursery() as nursery:
        flowctl = await start_flowctl(nursery, run_args(path, tmp_path), cwd=tmp_path, env=env)
        await flowctl.wait_for_line(r"all 1 components? registered")
        flowctl.send_signal(signal.SIGINT)
        assert await flowctl.wait() == 0, flowctl.output
    assert noted_environment(seen)["PYTHONUNBUFFERED"] == "0"
