"""Tools for the lifecycle-policy tests: the real `flowctl` executable (the CLI tests'
helpers) and a wait for the n-th line that matches, since a restarted component says the
same things again."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import trio

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS / "cli"))  # the CLI tests' helpers drive the real executable

from cli_helpers import FlowctlProcess, run_flowctl, start_flowctl  # noqa: E402
from fake_component_command import fake_command  # noqa: E402

# "proc: restarting (2/5) in 100ms": the attempt, the limit and the stated delay.
RESTART_LINE = re.compile(r"(\S+): restarting \((\d+)/(\d+)\) in (\S+)")


def run_args(pipeline: Path, tmp_path: Path, *extra: str) -> list[str]:
    """`flowctl run` on a free port, logs under tmp_path, plain lines, and a registration
    timeout no machine is slow enough for."""
    return [
        *("run", str(pipeline), "--control-plane-port", "0", "--no-status"),
        *("--log-dir", str(tmp_path / "logs"), "--shutdown-grace", "5s"),
        *("--registration-timeout", "60s"),
        *extra,
    ]


def matching(flowctl: FlowctlProcess, pattern: str) -> list[re.Match[str]]:
    regex = re.compile(pattern)
    return [found for line in flowctl.stdout if (found := regex.search(line))]


async def wait_for_lines(
    flowctl: FlowctlProcess, pattern: str, count: int, timeout: float = 60
) -> list[re.Match[str]]:
    """Wait until `count` lines of flowctl's stdout match (a guard against hangs only)."""
    with trio.fail_after(timeout):
        while len(found := matching(flowctl, pattern)) < count:
            if flowctl.process.returncode is not None and flowctl._eof:
                raise AssertionError(
                    f"flowctl exited before {count} lines matching {pattern!r}:\n" + flowctl.output
                )
            await flowctl._changed.wait()
        return found


def stated_delays(text: str, component_id: str) -> list[tuple[int, int, str]]:
    """(attempt, limit, delay as written) of each restart message about the component."""
    return [
        (int(found.group(2)), int(found.group(3)), found.group(4))
        for found in RESTART_LINE.finditer(text)
        if found.group(1) == component_id
    ]


__all__ = [
    "FlowctlProcess",
    "fake_command",
    "matching",
    "run_args",
    "run_flowctl",
    "start_flowctl",
    "stated_delays",
    "wait_for_lines",
]
