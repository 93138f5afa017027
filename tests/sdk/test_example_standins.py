"""The example pipeline's stand-in programs, run as real processes against a real server."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from sdk_fake_control_plane import HANG_GUARD, RecordingControlPlane, serving

from flowctl._proto import flowctl as pb

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
VENV_BIN = Path(sys.executable).parent


def component_env(component_id: str, port: int) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("FLOWCTL_") and key != "ENABLE_FLOWCTL"
    }
    return env | {
        "PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
        "ENABLE_FLOWCTL": "true",
        "FLOWCTL_ENDPOINT": f"127.0.0.1:{port}",
        "FLOWCTL_HEARTBEAT_INTERVAL": "100ms",
        "FLOWCTL_SERVICE_ID": component_id,
        "FLOWCTL_COMPONENT_ID": component_id,
    }


async def run_until_heartbeats_then_sigterm(
    command: Sequence[str], component_id: str, cwd: Path
) -> tuple[RecordingControlPlane, int, str, str]:
    """Start `command` in its own process group, wait for it to register and heartbeat
    twice, SIGTERM the group, and return what the server saw and how the process ended.
    Reading stdout to its end means every process of the group has gone."""
    control_plane = RecordingControlPlane()
    async with serving(control_plane) as port:
        process = await asyncio.create_subprocess_exec(
            *command,
            cwd=cwd,
            env=component_env(component_id, port),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
        try:
            await control_plane.wait_for(lambda: len(control_plane.heartbeats) >= 2)
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            async with asyncio.timeout(HANG_GUARD):
                stdout, stderr = await process.communicate()
    assert process.returncode is not None
    return control_plane, process.returncode, stdout.decode(), stderr.decode()


@pytest.mark.parametrize(
    ("program", "service_type", "line", "metric"),
    [
        ("consumer-app", pb.ServiceType.SINK, "from ledger", "uptime_ms"),
        (
            "stellar-live-source-datalake",
            pb.ServiceType.SOURCE,
            "processed ledger",
            "total_bytes_processed",
        ),
    ],
)
def test_a_standin_registers_heartbeats_and_stops_on_sigterm(
    program: str, service_type: pb.ServiceType, line: str, metric: str
) -> None:
    control_plane, status, stdout, stderr = asyncio.run(
        run_until_heartbeats_then_sigterm([f"./bin/{program}"], program, EXAMPLES)
    )

    [info] = control_plane.registrations
    assert info.service_id == program
    assert info.metadata["component_id"] == program
    assert info.service_type == service_type
    beats = control_plane.heartbeats
    assert {beat.service_id for beat in beats} == {f"{program}#1"}
    assert beats[-1].metrics[metric] > 0
    assert beats[0].metrics["uptime_ms"] < beats[-1].metrics["uptime_ms"]
    assert status == 0, stderr
    assert line in stdout
    assert f"{program}: " in stderr  # its one note on stderr
    assert "Traceback" not in stderr


@pytest.mark.skipif(shutil.which("npm") is None, reason="npm is not installed")
def test_npm_start_runs_the_processor_with_its_arguments() -> None:
    control_plane, _, stdout, stderr = asyncio.run(
        run_until_heartbeats_then_sigterm(
            ["npm", "start", "--", "1234", "2345"], "ttp-processor", EXAMPLES / "ttp-processor"
        )
    )

    [info] = control_plane.registrations
    assert info.service_type == pb.ServiceType.PROCESSOR
    assert info.metadata["component_id"] == "ttp-processor"
    assert info.input_event_types == ["raw_ledger_service.RawLedgerChunk"]
    assert info.output_event_types == ["token_transfer.TokenTransferEvent"]
    assert "ttp-processor: started with arguments 1234 2345" in stdout
    assert "processed ledger" in stdout
    assert "Traceback" not in stderr
