"""Tools for the README's promises, each checked through the real `flowctl` executable:
a component that notes what it saw (its start, its environment) before it becomes
tests/components/fake_component.py, and the usual `flowctl run` arguments."""

from __future__ import annotations

import json
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS / "cli"))  # the CLI tests' helpers drive the real executable

from cli_helpers import FlowctlProcess, cli_env, run_flowctl, start_flowctl  # noqa: E402
from cli_pty import screen_lines, start_in_pty  # noqa: E402
from fake_component_command import FAKE_COMPONENT, fake_command  # noqa: E402

# Appends "start <component id>" to argv[1] (O_APPEND: lines of several components never
# mix), writes its environment as JSON to argv[2] (unless "-"), then becomes the fake
# component with the rest of its arguments.
NOTING_COMPONENT = """
import json, os, sys
notes, env_file, *fake = sys.argv[1:]
with open(notes, "a") as out:
    out.write("start " + os.environ["FLOWCTL_COMPONENT_ID"] + "\\n")
if env_file != "-":
    with open(env_file, "w") as out:
        json.dump(dict(os.environ), out)
os.execv(sys.executable, [sys.executable, *fake])
"""


def noting_command(
    tmp_path: Path, notes: Path, *fake_args: str, env_file: Path | None = None
) -> list[str]:
    """A component that notes its start (and its environment), then runs fake_component."""
    script = tmp_path / "noting_component.py"
    script.write_text(NOTING_COMPONENT)
    env_target = str(env_file) if env_file else "-"
    return [sys.executable, str(script), str(notes), env_target, str(FAKE_COMPONENT), *fake_args]


def noted_environment(env_file: Path) -> dict[str, str]:
    environment: dict[str, str] = json.loads(env_file.read_text())
    return environment


def run_args(pipeline: Path, tmp_path: Path, *extra: str) -> list[str]:
    """`flowctl run` on a free port, logs under tmp_path, a short grace (the components
    stop at once on SIGTERM), and a registration timeout no machine is slow enough for."""
    return [
        *("run", str(pipeline), "--control-plane-port", "0"),
        *("--log-dir", str(tmp_path / "logs"), "--shutdown-grace", "5s"),
        *("--registration-timeout", "60s"),
        *extra,
    ]


__all__ = [
    "FAKE_COMPONENT",
    "FlowctlProcess",
    "cli_env",
    "fake_command",
    "noted_environment",
    "noting_command",
    "run_args",
    "run_flowctl",
    "screen_lines",
    "start_flowctl",
    "start_in_pty",
]
