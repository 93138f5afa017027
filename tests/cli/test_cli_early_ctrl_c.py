"""Ctrl+C at any moment of a run's start: exit 0, `stopped`, no traceback, nothing left.

The start (imports, the pipeline check, trio, the control plane, the components) takes a
few hundred milliseconds in which a SIGINT used to give a KeyboardInterrupt traceback, a
silent exit 130, or be lost until the registration timeout. flowctl's first lines install
a handler that notes the signal until the run can act on it.

Each test waits for an event, then sends SIGINT after a fixed delay; the delays are fixed
on purpose: every one of them must give the same result.
- From the moment flowctl's handler is in place (/proc shows SIGTERM caught: Python alone
  catches only SIGINT): as from a shell.
- From the moment a launcher has blocked the stop signals and exec'd flowctl: the signal
  waits, pending, however early it comes (even before the interpreter runs), until
  flowctl's handler takes it. Before the fix it never arrived at all.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path
from signal import SIGINT, SIGTERM

import psutil
import pytest
import trio
from cli_helpers import FLOWCTL, cli_env
from fake_component_command import fake_command

from flowctl.testing import write_pipeline

MARK = "FLOWCTL_EARLY_CTRL_C_TEST"


# Blocks the stop signals, then becomes flowctl (its arguments follow).
BLOCKING_LAUNCHER = [
    sys.executable,
    "-c",
    "import os, signal, sys\n"
    "signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM, signal.SIGHUP})\n"
    "os.execv(sys.argv[1], sys.argv[1:])",
]


async def wait_for_signal_bit(pid: int, field: str, signum: int) -> None:
    """Until /proc/PID/status shows `signum` in `field` (SigCgt: caught, SigBlk: blocked)."""
    bit = 1 << (signum - 1)
    with trio.fail_after(30):
        while True:
            status = Path(f"/proc/{pid}/status").read_text()
            mask = next(line for line in status.splitlines() if line.startswith(f"{field}:"))
            if int(mask.split()[1], 16) & bit:
                return
            await trio.sleep(0.001)


def processes_marked(mark: str) -> list[str]:
    """Live processes (flowctl, its watchdog, components) whose environment has the mark."""
    left = []
    for process in psutil.process_iter():
        try:
            if process.environ().get(MARK) == mark and process.status() != "zombie":
                left.append(f"{process.pid} {process.cmdline()}")
        except psutil.Error:
            continue
    return left


DELAYS = [0, 0.01, 0.03, 0.06, 0.1, 0.2, 0.35, 0.6]


@pytest.mark.parametrize("delay", DELAYS)
async def test_ctrl_c_during_the_start_stops_cleanly(tmp_path: Path, delay: float) -> None:
    await _interrupt_the_start(tmp_path, delay, launcher=[], field="SigCgt", signum=SIGTERM)


@pytest.mark.parametrize("delay", DELAYS)
async def test_ctrl_c_even_before_the_interpreter_runs_stops_cleanly(
    tmp_path: Path, delay: float
) -> None:
    await _interrupt_the_start(
        tmp_path, delay, launcher=BLOCKING_LAUNCHER, field="SigBlk", signum=SIGINT
    )


async def _interrupt_the_start(
    tmp_path: Path, delay: float, *, launcher: list[str], field: str, signum: int
) -> None:
    path = write_pipeline(
        tmp_path / "p.yaml",
        sources=[{"id": "src", "command": fake_command()}],
        sinks=[{"id": "sink", "inputs": ["src"], "command": fake_command("--type", "sink")}],
    )
    mark = uuid.uuid4().hex
    args = ["run", str(path), "--control-plane-port", "0", "--log-dir", str(tmp_path / "l")]
    process = await trio.lowlevel.open_process(
        [*launcher, FLOWCTL, *args],
        cwd=tmp_path,
        env=cli_env(**{MARK: mark}),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert process.stdout is not None
    output = b""
    try:
        await wait_for_signal_bit(process.pid, field, signum)
        await trio.sleep(delay)
        process.send_signal(SIGINT)
        with trio.fail_after(60):
            async for chunk in process.stdout:
                output += chunk
            status = await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
    text = output.decode(errors="replace")
    assert status == 0, text
    assert "Traceback" not in text and "KeyboardInterrupt" not in text
    assert "SIGINT received: stopping" in text
    assert text.rstrip().endswith("stopped"), text
    assert not processes_marked(mark), "left behind"
