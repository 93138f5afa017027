"""README "Registration barrier": when the barrier times out, the message lists each
registration that matched no component, with its type, event types and the reason.

The order is guaranteed by construction, not by speed: the pipeline's `gate` is a job that
`never` waits for, and the registration timeout's clock stands still while an awaited job
runs. The gate completes only once the test's outside client has registered and been
acknowledged; only then does `never` start (and it never registers), so the timeout can
only come after the outside registration, however loaded the machine.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import trio
from promise_helpers import cli_env, fake_command, start_flowctl

from flowctl.testing import write_pipeline

# argv: a file; exits 0 once it exists.
WAIT_FOR_FILE = "import os, sys, time\nwhile not os.path.exists(sys.argv[1]): time.sleep(0.02)\n"


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux /proc")
async def test_the_barrier_timeout_lists_the_registrations_that_matched_no_component(
    tmp_path: Path,
) -> None:
    go = tmp_path / "outside-registered"
    path = write_pipeline(
        tmp_path / "p.yaml",
        sources=[
            {"id": "gate", "job": True, "command": [sys.executable, "-c", WAIT_FOR_FILE, str(go)]},
            {"id": "never", "depends_on": ["gate"], "command": fake_command("--register", "never")},
        ],
    )
    # Short: `never` never registers by construction; the clock starts after the gate.
    args = [
        *("run", str(path), "--control-plane-port", "0", "--log-dir", str(tmp_path / "logs")),
        *("--registration-timeout", "2s"),
    ]
    async with trio.open_nursery() as nursery:
        flowctl = await start_flowctl(nursery, args, cwd=tmp_path)
        endpoint = await flowctl.endpoint()
        outside = await trio.lowlevel.open_process(
            fake_command("--type", "sink", "--inputs", "demo.Outside"),
            env=cli_env(FLOWCTL_ENDPOINT=endpoint, FLOWCTL_SERVICE_ID="outside-client"),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
        )
        try:
            assert outside.stdout is not None
            seen = b""
            with trio.fail_after(60):  # hang guard: the client's registration is acknowledged
                while b"\n" not in seen:
                    chunk = await outside.stdout.receive_some()
                    assert chunk, "the outside client exited before registering"
                    seen += chunk
            assert seen.decode().startswith("registered as outside-client"), seen
            go.touch()  # now the gate completes, `never` starts, and the clock runs
            assert await flowctl.wait(timeout=60) == 1, flowctl.output
        finally:
            outside.kill()
            await outside.wait()
    err = "\n".join(flowctl.stderr)
    assert "'never' never registered" in err, err
    assert (
        "outside-client (SERVICE_TYPE_SINK; inputs: demo.Outside): "
        "registered from a process outside the pipeline"
    ) in err, err
