"""`flowctl list` shows a run's services in pipeline order, as the live view does, whatever
order they registered in; a standalone server (no pipeline) keeps registration order."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import trio
from cli_helpers import run_flowctl, start_flowctl
from fake_component_command import fake_command

from flowctl.testing import write_pipeline


async def test_list_shows_a_run_in_pipeline_order_not_registration_order(
    tmp_path: Path,
) -> None:
    late = tmp_path / "register-now"
    path = write_pipeline(
        tmp_path / "p.yaml",
        # No inputs between them: both start at once, and `zeta` registers only when told.
        sources=[{"id": "zeta", "command": fake_command("--register-when", str(late))}],
        sinks=[{"id": "alpha", "command": fake_command("--type", "sink")}],
    )
    async with trio.open_nursery() as nursery:
        flowctl = await start_flowctl(
            nursery,
            ["run", str(path), "--control-plane-port", "0", "--log-dir", str(tmp_path / "logs")],
            cwd=tmp_path,
        )
        endpoint = await flowctl.endpoint()
        await flowctl.wait_for_line(r"registered alpha")
        late.touch()
        await flowctl.wait_for_line(r"all 2 components registered")
        listed = {}
        for output in ("json", "table"):
            status, out, err = await run_flowctl(
                ["list", "--endpoint", endpoint, "--output", output], cwd=tmp_path
            )
            assert status == 0, err
            listed[output] = out
        flowctl.send_signal(signal.SIGINT)
        assert await flowctl.wait() == 0, flowctl.output

    registered = [line for line in flowctl.stdout if "registered " in line and "(by" in line]
    assert "alpha" in registered[0] and "zeta" in registered[1]  # the other way round
    services = json.loads(listed["json"])["services"]
    assert [service["serviceId"] for service in services] == ["zeta", "alpha"]
    rows = [line.split()[0] for line in listed["table"].splitlines()[1:] if line.strip()]
    assert [row for row in rows if row in ("zeta", "alpha")] == ["zeta", "alpha"]
