"""Through the real `flowctl` executable: anonymous components under their ids, an outside
client listed as unattached, and `flowctl list` against a server without flowctl.inspect."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest
import trio
from attach_helpers import SOURCE_ARGS, anonymous_pipeline, older_control_plane
from cli.cli_helpers import cli_env, run_flowctl, start_flowctl
from fake_component_command import fake_command

from flowctl._proto import flowctl as pb

# The canonical proto3 JSON of a ServiceStatus: `list --output json` adds nothing to it.
STATUS_KEYS = {"serviceId", "serviceType", "isHealthy", "lastHeartbeat", "metrics"}


async def start_outside_client(endpoint: str) -> tuple[trio.Process, str]:
    """A component started by the test, not by flowctl; returns it and its service id."""
    process = await trio.lowlevel.open_process(
        fake_command(*SOURCE_ARGS),
        env=cli_env(FLOWCTL_ENDPOINT=endpoint),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
    )
    assert process.stdout is not None
    seen = b""
    while b"\n" not in seen:
        chunk = await process.stdout.receive_some()
        assert chunk, "the outside client exited before registering"
        seen += chunk
    line = seen.decode().splitlines()[0]
    assert line.startswith("registered as "), line
    return process, line.removeprefix("registered as ")


def table_rows(table: str) -> dict[str, str]:
    """Each line of the table by its first cell (the header line under "header")."""
    lines = table.strip().splitlines()
    return {"header": lines[0], **{line.split()[0]: line for line in lines[1:]}}


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux /proc")
async def test_anonymous_components_are_listed_under_their_ids_and_strays_unattached(
    tmp_path: Path,
) -> None:
    path = anonymous_pipeline(tmp_path)
    args = ["run", str(path), "--control-plane-port", "0", "--log-dir", str(tmp_path / "logs")]
    async with trio.open_nursery() as nursery:
        flowctl = await start_flowctl(nursery, args, cwd=tmp_path)
        endpoint = await flowctl.endpoint()
        await flowctl.wait_for_line(r"all 3 components registered")
        stray, stray_id = await start_outside_client(endpoint)
        try:
            status, out, err = await run_flowctl(["list", "--output", "json"], cwd=tmp_path)
            assert status == 0, err
            listed = json.loads(out)
            status, table, err = await run_flowctl(["list"], cwd=tmp_path)
            assert status == 0, err
        finally:
            stray.kill()
            await stray.wait()
        assert flowctl.process.returncode is None, "the stray must not disturb the run"
        flowctl.send_signal(signal.SIGINT)
        assert await flowctl.wait() == 0, flowctl.output
        nursery.cancel_scope.cancel()

    services = {service["serviceId"]: service for service in listed["services"]}
    assert set(services) == {"left", "right", "proc", stray_id}
    assert all(services[cid]["isHealthy"] for cid in ("left", "right", "proc"))
    assert set(listed) == {"services"}
    assert all(set(service) <= STATUS_KEYS for service in listed["services"])

    rows = table_rows(table)
    assert rows["header"].split()[-1] == "ATTACHED"
    for component_id in ("left", "right", "proc"):
        assert rows[component_id].endswith("by process"), table
    assert rows[stray_id].endswith("no: registered from a process outside the pipeline"), table
    assert "Traceback" not in flowctl.output + table


async def test_list_leaves_out_the_column_when_the_server_has_no_inspect(tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with older_control_plane() as (endpoint, registry):
            registry.register(
                pb.ServiceInfo(service_id="old-source", service_type=pb.ServiceType.SOURCE)
            )
            status, table, err = await run_flowctl(["list", "--endpoint", endpoint], cwd=tmp_path)
    assert status == 0, err
    rows = table_rows(table)
    assert "ATTACHED" not in rows["header"]
    assert "old-source" in rows
    assert err == ""
