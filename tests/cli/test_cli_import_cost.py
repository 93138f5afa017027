"""`flowctl list` and `flowctl version` must stay light: they never load trio (~70 ms)."""

from __future__ import annotations

import subprocess
import sys

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
