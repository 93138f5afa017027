"""`import flowctl` is the public API: cheap to import, documented, typed for its users."""

from __future__ import annotations

import inspect
import shutil
import subprocess
import sys
from pathlib import Path

import flowctl

USER_PROGRAM = Path(__file__).parent / "data" / "user_program.py"


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)


def test_importing_flowctl_does_not_import_trio_until_a_name_is_used() -> None:
    result = run_python(
        "import sys, flowctl\n"
        "print('trio' in sys.modules)\n"
        "flowctl.open_pipeline\n"
        "print('trio' in sys.modules)"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True"]


def test_every_public_name_resolves_and_is_documented() -> None:
    names = sorted(set(flowctl._EXPORTS) - {"OutputSink"})  # a type alias: no docstring
    assert {"load_pipeline", "open_pipeline", "open_control_plane", "RunOptions"} <= set(names)
    for name in names:
        value = getattr(flowctl, name)
        assert inspect.getdoc(value), f"flowctl.{name} has no docstring"
    for method in ("wait_ready", "wait_healthy", "wait_metric", "wait", "stop"):
        assert inspect.getdoc(getattr(flowctl.PipelineRun, method)), method
    assert set(flowctl.__all__) <= set(dir(flowctl))


def test_functions_and_errors_say_flowctl_in_tracebacks() -> None:
    for name in ("open_pipeline", "load_pipeline", "ComponentFailed", "PipelineRun"):
        assert getattr(flowctl, name).__module__ == "flowctl"
    error = flowctl.RunStopped("x")
    assert f"{type(error).__module__}.{type(error).__qualname__}" == "flowctl.RunStopped"


def test_help_reads_as_a_manual() -> None:
    result = run_python("import flowctl; help(flowctl)")
    assert result.returncode == 0, result.stderr
    manual = result.stdout
    assert "async with flowctl.open_pipeline(" in manual  # the example
    for name in ("class PipelineRun", "wait_metric(", "open_control_plane(", "RunStopped"):
        assert name in manual


def test_mypy_strict_passes_on_a_users_program(tmp_path: Path) -> None:
    # In a folder of its own: the user's mypy, with no configuration of the repo's.
    program = shutil.copy(USER_PROGRAM, tmp_path / "user_program.py")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "cache"), program],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
