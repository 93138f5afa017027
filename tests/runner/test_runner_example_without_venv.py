"""The example pipeline runs with the installed `flowctl` alone: called by its full path,
with no virtualenv on PATH, its Python components still find flowctl.sdk (FLOWCTL_PYTHON)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import trio

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
FLOWCTL = Path(sys.executable).parent / "flowctl"
MINIMAL_PATH = "/usr/bin:/bin"
COMPONENTS = ("stellar-live-source-datalake", "ttp-processor", "consumer-app")
HANG_GUARD = 60


def minimal_environment(home: Path) -> dict[str, str]:
    """The test's environment with nothing of the virtualenv in it."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME") and not key.startswith("FLOWCTL_")
    }
    env["PATH"] = MINIMAL_PATH
    env["HOME"] = str(home)
    if "FLOWCTL_RUNTIME_DIR" in os.environ:  # the test's own run-discovery folder
        env["FLOWCTL_RUNTIME_DIR"] = os.environ["FLOWCTL_RUNTIME_DIR"]
    return env


def python3_without_flowctl() -> bool:
    """Whether the python3 on the minimal PATH lacks flowctl (else this test shows nothing)."""
    python3 = shutil.which("python3", path=MINIMAL_PATH)
    if python3 is None:
        return True
    found = subprocess.run([python3, "-c", "import flowctl"], capture_output=True, check=False)
    return found.returncode != 0


@pytest.mark.skipif(shutil.which("npm", path=MINIMAL_PATH) is None, reason="npm not in /usr/bin")
@pytest.mark.skipif(not python3_without_flowctl(), reason="python3 on /usr/bin has flowctl")
async def test_the_example_runs_with_flowctl_called_by_path_alone(tmp_path: Path) -> None:
    process = await trio.lowlevel.open_process(
        [
            str(FLOWCTL),
            "run",
            str(EXAMPLES / "ttp-pipeline.yaml"),
            *("--control-plane-port", "0", "--log-dir", str(tmp_path / "logs")),
        ],
        cwd=tmp_path,
        env=minimal_environment(tmp_path),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert process.stdout is not None
    output = b""
    with trio.fail_after(HANG_GUARD):
        try:
            # Until flowctl says every component registered (or it exits: then it failed).
            while not all(f"registered {c} ".encode() in output for c in COMPONENTS):
                chunk = await process.stdout.receive_some()
                if not chunk:
                    break
                output += chunk
            process.send_signal(signal.SIGINT)
            async for chunk in process.stdout:
                output += chunk
            status = await process.wait()
        finally:
            process.kill()
    text = output.decode(errors="replace")
    assert all(f"registered {c} " in text for c in COMPONENTS), text
    assert status == 0, text
    assert "not installed" not in text and "Traceback" not in text
