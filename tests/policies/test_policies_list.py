"""`flowctl list`, from another terminal, says what the live view says of restarts and jobs:
`restarting (1/5) in Ns` while a component waits to be started again, `completed` for a
job that exited 0, still `completed` once the heartbeat TTL marked its silent registration
unhealthy (which is no warning either). Through the real `flowctl run` and `flowctl list`."""

from __future__ import annotations

import json
import re
import signal
from pathlib import Path

import trio
from policy_helpers import fake_command, matching, run_args, run_flowctl, start_flowctl

from flowctl.testing import write_pipeline


def state_of(table: str, service_id: str) -> str:
    """The STATE cell of the service's row in `flowctl list`'s table."""
    lines = table.splitlines()
    header = lines[0]
    start = header.index("STATE")
    end = header.index("HEARTBEAT")
    (row,) = [line for line in lines[1:] if line.split()[0] == service_id]
    return row[start:end].strip()


async def listed(endpoint: str, tmp_path: Path) -> str:
    status, table, err = await run_flowctl(["list", "--endpoint", endpoint], cwd=tmp_path)
    assert status == 0, table + err
    return table


async def test_list_counts_down_a_restart(tmp_path: Path) -> None:
    crashed = tmp_path / "crashed-once"
    path = write_pipeline(
        tmp_path / "p.yaml",
        sources=[{"id": "src", "command": fake_command()}],
        processors=[
            {
                "id": "proc",
                "inputs": ["src"],
                # Registers, exits 2 the first time: then waits 30 s (the longest delay) to
                # be started again, long enough to ask `flowctl list` meanwhile.
                "command": fake_command(
                    *("--type", "processor", "--exit-once", str(crashed)),
                    *("--exit-after", "0", "--exit-code", "2"),
                ),
                "restart_policy": "on-failure",
                "restart_delay": "30s",
            }
        ],
    )
    async with trio.open_nursery() as nursery:
        flowctl = await start_flowctl(nursery, run_args(path, tmp_path), cwd=tmp_path)
        endpoint = await flowctl.endpoint()
        await flowctl.wait_for_line(r"proc: restarting \(1/5\) in 30s")
        table = await listed(endpoint, tmp_path)
        status, as_json, err = await run_flowctl(
            ["list", "--endpoint", endpoint, "--output", "json"], cwd=tmp_path
        )
        assert status == 0, err
        assert flowctl.process.returncode is None, flowctl.output
        flowctl.send_signal(signal.SIGINT)  # during the wait: the run stops as usual
        assert await flowctl.wait() == 0, flowctl.output
        nursery.cancel_scope.cancel()

    found = re.fullmatch(r"restarting \(1/5\) in (\d+)s", state_of(table, "proc"))
    assert found is not None, table
    assert 0 < int(found.group(1)) <= 30, table  # counted down from when it is due
    assert state_of(table, "src") == "healthy", table
    assert "by id" in table  # the ATTACHED column is still there
    # The wire contract's answer is unchanged: one service per component, no new field.
    services = json.loads(as_json)["services"]
    assert sorted(service["serviceId"] for service in services) == ["proc", "src"]
    assert all(set(service) <= CONTRACT_FIELDS for service in services), as_json
    assert len(matching(flowctl, r"started proc ")) == 1  # stopped before the restart
    assert "Traceback" not in flowctl.output


CONTRACT_FIELDS = {"serviceId", "serviceType", "isHealthy", "lastHeartbeat", "metrics"}


async def test_a_completed_job_is_listed_completed_even_once_silent(tmp_path: Path) -> None:
    path = write_pipeline(
        tmp_path / "p.yaml",
        sources=[
            {
                "id": "migrate",
                # Registers, heartbeats for 0.5 s, exits 0: its registration goes silent.
                "command": fake_command("--exit-after", "0.5"),
                "job": True,
            }
        ],
        sinks=[{"id": "sink", "inputs": ["migrate"], "command": fake_command("--type", "sink")}],
    )
    # A short TTL, checked often: the job's registration turns unhealthy within the test,
    # 3 s after its exit (time enough for a loaded machine to see the exit first).
    # --log-level debug says when that happened (the event waited for, no sleep).
    args = run_args(path, tmp_path, "--heartbeat-ttl", "3s", "--janitor-interval", "100ms")
    async with trio.open_nursery() as nursery:
        flowctl = await start_flowctl(nursery, [*args, "--log-level", "debug"], cwd=tmp_path)
        endpoint = await flowctl.endpoint()
        await flowctl.wait_for_line(r"registered sink")  # started once migrate completed
        before = await listed(endpoint, tmp_path)
        await flowctl.wait_for_line(r"migrate is silent: migrate completed", timeout=60)
        after = await listed(endpoint, tmp_path)
        status, as_json, err = await run_flowctl(
            ["list", "--endpoint", endpoint, "--output", "json"], cwd=tmp_path
        )
        assert status == 0, err
        flowctl.send_signal(signal.SIGINT)
        assert await flowctl.wait() == 0, flowctl.output
        nursery.cancel_scope.cancel()

    assert state_of(before, "migrate") == "completed", before
    assert state_of(after, "migrate") == "completed", after
    assert state_of(after, "sink") in ("healthy", "unhealthy"), after
    # The wire says what the contract says (silent past the TTL: not healthy) ...
    (job,) = [s for s in json.loads(as_json)["services"] if s["serviceId"] == "migrate"]
    assert not job.get("isHealthy", False), as_json
    # ... and flowctl's own lines say no warning and no failure about it.
    assert not matching(flowctl, r"migrate is unhealthy"), flowctl.output
    assert not matching(flowctl, r"unexpectedly| error: "), flowctl.output
    assert "Traceback" not in flowctl.output
