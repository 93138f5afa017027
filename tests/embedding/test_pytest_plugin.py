"""The pytest plugin as a user's project gets it: pytest in a subprocess, on a folder that
only has flowctl installed (the repo's Python), with the README's example as it is written."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import psutil

README = Path(__file__).parents[2] / "README.md"
SECTION = "## Testing your components with flowctl"


def readme_example() -> dict[str, str]:
    """The section's code blocks that start with `# <file name>`, by file name."""
    text = README.read_text()
    section = text[text.index(SECTION) :]
    section = section[: section.find("\n## ", len(SECTION))]
    files = {}
    for block in re.findall(r"```(?:python|yaml)\n(.*?)```", section, re.DOTALL):
        first = block.partition("\n")[0]
        if first.startswith("# "):
            files[first[2:].strip()] = block
    assert set(files) == {"counter.py", "pipeline.yaml", "test_counter.py"}
    return files


def project(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def run_pytest(folder: Path, mark: str, *args: str) -> subprocess.CompletedProcess[str]:
    """pytest in `folder`, as its own project; its processes inherit `mark`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["FLOWCTL_TEST_MARK"] = mark
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,  # a guard against hangs only
    )


def processes_with(mark: str) -> list[str]:
    """Every live process whose environment carries `mark` (zombies included)."""
    found = []
    for process in psutil.process_iter(["pid", "name"]):
        try:
            if process.environ().get("FLOWCTL_TEST_MARK") == mark:
                found.append(f"{process.pid} {process.info['name']} {process.status()}")
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def test_the_readme_example_passes_and_leaves_nothing(tmp_path: Path) -> None:
    mark = uuid.uuid4().hex
    result = run_pytest(project(tmp_path / "example", readme_example()), mark, "-q")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
    assert processes_with(mark) == []


def test_a_failing_example_shows_the_component_logs_and_leaves_nothing(tmp_path: Path) -> None:
    files = readme_example()
    test = files["test_counter.py"]
    assert "assert counted >= 3" in test
    # Fails while the component runs: the fixture must stop it, and show its output.
    files["test_counter.py"] = test.replace("assert counted >= 3", "assert counted < 0")
    mark = uuid.uuid4().hex
    result = run_pytest(project(tmp_path / "failing", files), mark, "-q")
    assert result.returncode == 1, result.stdout + result.stderr
    report = result.stdout
    assert "1 failed" in report
    assert re.search(r"-+ flowctl log counter \(.*flowctl-logs/counter\.log\) -+", report)
    assert "counted 1\n" in report  # the component's own line, from its log file
    assert processes_with(mark) == []


def test_the_fixtures_are_found_and_explained_by_pytest_fixtures(tmp_path: Path) -> None:
    folder = project(tmp_path / "p", {"test_nothing.py": "def test_nothing():\n    pass\n"})
    result = run_pytest(folder, uuid.uuid4().hex, "--fixtures")
    assert result.returncode == 0, result.stderr
    assert "flowctl_pipeline" in result.stdout and "flowctl_control_plane" in result.stdout
    assert "Runs a pipeline inside a trio test" in result.stdout
    assert "An embedded flowctl control plane on a free loopback port" in result.stdout


COLLECTION_PROBE = """
import sys


def pytest_collection_finish(session):
    loaded = session.config.pluginmanager.has_plugin("flowctl")
    print(f"flowctl plugin loaded: {loaded}; trio imported: {'trio' in sys.modules}")
"""


def test_the_plugin_imports_no_trio_for_a_project_that_does_not_use_it(tmp_path: Path) -> None:
    files = {"conftest.py": COLLECTION_PROBE, "test_plain.py": "def test_plain():\n    pass\n"}
    # Without pytest-trio and anyio's plugin (httpx brings anyio; both import trio
    # themselves), only flowctl's plugin could.
    result = run_pytest(
        project(tmp_path / "plain", files), uuid.uuid4().hex, "-p", "no:trio", "-p", "no:anyio"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "flowctl plugin loaded: True; trio imported: False" in result.stdout


def test_a_bad_marker_is_one_clear_failure(tmp_path: Path) -> None:
    test = (
        "import pytest\n\n"
        "@pytest.mark.trio\n"
        "@pytest.mark.flowctl(registration_timout='1s')\n"
        "async def test_typo(flowctl_pipeline):\n"
        "    async with flowctl_pipeline('missing.yaml'):\n"
        "        pass\n"
    )
    result = run_pytest(project(tmp_path / "typo", {"test_typo.py": test}), uuid.uuid4().hex)
    assert result.returncode == 1
    assert (
        "@pytest.mark.flowctl takes only these keywords: registration_timeout, shutdown_grace, "
        "heartbeat_interval, heartbeat_ttl, janitor_interval (not registration_timout)"
    ) in result.stdout
    assert "Traceback" not in result.stdout
