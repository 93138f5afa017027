"""`flowctl list` and `flowctl version` must stay light: they never load trio (~70 ms)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

LIST_PATH_MODULES = (
    "flowctl.cli.app",
    "flowctl.cli.list_command",
    "flowctl.cli.run_choice",
    "flowctl.cli.attachment_column",
    "flowctl.console.service_table",
    "flowctl.controlplane.client",
    "flowctl.controlplane.json_format",
)


def test_the_list_command_path_does_not_import_trio() -> None:
    code = (
        "import sys\n"
        + "".join(f"import {module}\n" for module in LIST_PATH_MODULES)
        + "print('trio' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def _run_with_importtime(args: list[str], tmp_path: Path) -> tuple[set[str], str]:
    """A real `flowctl ARGS` under `python -X importtime`: the modules it imported, and
    what else it printed (to know that the command did run)."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "flowctl", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "FLOWCTL_RUNTIME_DIR": str(tmp_path)},
    )
    lines = result.stderr.splitlines()
    timing = [line for line in lines if line.startswith("import time:")]
    said = [line for line in lines if not line.startswith("import time:")]
    modules = {line.rsplit("|", 1)[1].strip() for line in timing}
    return modules, result.stdout + "\n".join(said)


# cyclopts' help rendering, rich's markdown, and the server side of the control plane.
HEAVY_FOR_SMALL_COMMANDS = (
    "cyclopts.help",
    "rich.markdown",
    "trio",
    "flowctl.controlplane.service",
    "flowctl.controlplane.registry",
    "flowctl.controlplane.grpc_server",
    "flowctl.runner",
)


@pytest.mark.parametrize(("args", "answer"), [(["version"], "flowctl 0"), (["--version"], "0")])
def test_flowctl_version_imports_no_command_machinery(
    args: list[str], answer: str, tmp_path: Path
) -> None:
    modules, said = _run_with_importtime(args, tmp_path)
    assert said.startswith(answer)
    assert not {"cyclopts", "rich", *HEAVY_FOR_SMALL_COMMANDS} & modules


def test_flowctl_list_imports_neither_help_nor_the_server_side(tmp_path: Path) -> None:
    with socket.socket() as closed:  # bound, never listening: the connection is refused
        closed.bind(("127.0.0.1", 0))
        endpoint = f"127.0.0.1:{closed.getsockname()[1]}"
        for args, answer in (
            (["list", "--endpoint", endpoint], f"no control plane answered at {endpoint}"),
            (["list", "--output=json", "--endpoint", endpoint], "no control plane answered"),
            (["list", "--runs"], "is live"),
        ):
            modules, said = _run_with_importtime(args, tmp_path)
            assert answer in said, args
            assert not set(HEAVY_FOR_SMALL_COMMANDS) & modules, args
            # A plain `list` line is read without cyclopts (cli/list_args.py).
            assert "cyclopts" not in modules, args


def test_a_list_line_cyclopts_must_read_still_works(tmp_path: Path) -> None:
    modules, said = _run_with_importtime(["list", "--output", "xml"], tmp_path)
    assert 'Invalid value "xml" for --output' in said
    assert "cyclopts" in modules
