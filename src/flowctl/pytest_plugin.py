"""flowctl's pytest plugin: found through the `pytest11` entry point, so installing
flowctl is enough. It gives trio tests (pytest-trio: `trio_mode` or `@pytest.mark.trio`)
two fixtures, `flowctl_pipeline` and `flowctl_control_plane`, and attaches the logs of
a failed test's components to its report.

Timeouts come from, last wins: the defaults below, the ini options `flowctl_*` (e.g.
`flowctl_registration_timeout = 1m`), the marker `@pytest.mark.flowctl(...)` on a test,
module or class, and the keywords given to `flowctl_pipeline(...)`.

Collection stays light: this module imports pytest only; trio and the runner are imported
by a fixture, when a test uses it.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from flowctl.controlplane import EmbeddedControlPlane
    from flowctl.pipeline import Pipeline
    from flowctl.runner import PipelineRun

# Generous for a loaded machine (a test that waits longer is stuck anyway); components
# heartbeat often so that a test waiting for a metric is not kept waiting.
DEFAULT_TIMEOUTS = {
    "registration_timeout": "60s",
    "shutdown_grace": "5s",
    "heartbeat_interval": "500ms",
    "heartbeat_ttl": "30s",
    "janitor_interval": "1s",
}
_INI_HELP = {
    "registration_timeout": "how long every component of a test's pipeline has to register",
    "shutdown_grace": "how long a test's components have to stop after SIGTERM",
    "heartbeat_interval": "FLOWCTL_HEARTBEAT_INTERVAL given to a test's components",
    "heartbeat_ttl": "a component silent for longer is marked unhealthy",
    "janitor_interval": "how often the control plane checks heartbeats",
}
_LOG_TAIL_LINES = 200  # of each component's log in a failed test's report

_LOG_DIRS = pytest.StashKey[list[Path]]()
_LOGS_ATTACHED = pytest.StashKey[bool]()


def pytest_addoption(parser: pytest.Parser) -> None:
    for name, default in DEFAULT_TIMEOUTS.items():
        parser.addini(
            f"flowctl_{name}", f"flowctl: {_INI_HELP[name]} (default {default})", default=default
        )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "flowctl(**timeouts): flowctl_pipeline and flowctl_control_plane options for these "
        "tests, in seconds or as durations: " + ", ".join(f"{n}=" for n in DEFAULT_TIMEOUTS),
    )


def _timeouts(request: pytest.FixtureRequest) -> dict[str, float]:
    """The defaults, overridden by the ini options, overridden by the nearest markers."""
    from flowctl.durations import parse_duration

    chosen: dict[str, object] = {
        name: request.config.getini(f"flowctl_{name}") for name in DEFAULT_TIMEOUTS
    }
    # iter_markers goes from the test outwards: apply the outermost first.
    for marker in reversed(list(request.node.iter_markers("flowctl"))):
        unknown = sorted(set(marker.kwargs) - set(DEFAULT_TIMEOUTS))
        if marker.args or unknown:
            pytest.fail(
                f"@pytest.mark.flowctl takes only these keywords: {', '.join(DEFAULT_TIMEOUTS)}"
                + (f" (not {', '.join(unknown)})" if unknown else ""),
                pytrace=False,
            )
        chosen.update(marker.kwargs)
    seconds = {}
    for name, value in chosen.items():
        try:
            seconds[name] = (
                float(value) if isinstance(value, int | float) else parse_duration(str(value))
            )
        except ValueError as error:
            pytest.fail(f"flowctl option {name}: {error}", pytrace=False)
    return seconds


class PipelineFactory:
    """What the `flowctl_pipeline` fixture gives: call it to run a pipeline in the test.

    `async with flowctl_pipeline("pipeline.yaml", **options) as run:` runs the file (a
    relative path is taken from the test file's folder) on a free port, with the test's
    timeouts; `options` are RunOptions fields (`registration_timeout=5`, ...) and
    `output`, a callback for each line the components print.
    """

    def __init__(
        self, request: pytest.FixtureRequest, tmp_path: Path, timeouts: dict[str, float]
    ) -> None:
        self._request = request
        self._tmp_path = tmp_path
        self._timeouts = timeouts
        self._count = itertools.count(1)

    def __call__(
        self, pipeline: str | Path | Pipeline, **options: Any
    ) -> AbstractAsyncContextManager[PipelineRun]:
        return self._open(pipeline, options)

    @asynccontextmanager
    async def _open(
        self, pipeline: str | Path | Pipeline, options: dict[str, Any]
    ) -> AsyncIterator[PipelineRun]:
        import dataclasses

        from flowctl.runner import RunOptions, open_pipeline

        if isinstance(pipeline, str | Path):
            pipeline = self._request.path.parent / pipeline
        output = options.pop("output", None)
        number = next(self._count)
        folder = "flowctl-logs" if number == 1 else f"flowctl-logs-{number}"
        default_logs = self._tmp_path / folder
        known = {field.name for field in dataclasses.fields(RunOptions)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise TypeError(
                f"flowctl_pipeline: no option {', '.join(unknown)} "
                f"(it takes {', '.join(sorted(known))} and output)"
            )
        run_options = RunOptions(control_plane_port=0, log_dir=default_logs)
        run_options = dataclasses.replace(run_options, **{**self._timeouts, **options})
        self._request.node.stash.setdefault(_LOG_DIRS, []).append(Path(run_options.log_dir))
        async with open_pipeline(pipeline, options=run_options, output=output) as run:
            yield run


@pytest.fixture
def _flowctl_timeouts(request: pytest.FixtureRequest) -> dict[str, float]:
    """flowctl's timeouts for this test (defaults, ini options, `flowctl` markers).

    A fixture of its own, not async: a bad marker fails the test's setup in one line.
    """
    return _timeouts(request)


@pytest.fixture
def flowctl_pipeline(
    request: pytest.FixtureRequest, tmp_path: Path, _flowctl_timeouts: dict[str, float]
) -> PipelineFactory:
    """Runs a pipeline inside a trio test: `async with flowctl_pipeline("pipeline.yaml")
    as run:` (a path relative to the test file; keywords are RunOptions fields).

    The control plane takes a free port; components log to `tmp_path/flowctl-logs/`, and
    when the test fails, each component's log is attached to its report. Leaving the
    block stops every component; a component that exits fails the test with
    ComponentFailed. Timeouts: `@pytest.mark.flowctl(registration_timeout=...)` or the
    ini options `flowctl_*`.
    """
    return PipelineFactory(request, tmp_path, _flowctl_timeouts)


@pytest.fixture
async def flowctl_control_plane(
    _flowctl_timeouts: dict[str, float],
) -> AsyncIterator[EmbeddedControlPlane]:
    """An embedded flowctl control plane on a free loopback port, for one trio test.

    Start your component with `FLOWCTL_ENDPOINT=flowctl_control_plane.endpoint`, then
    `await flowctl_control_plane.wait_registered(["my-component"], timeout=10)`; its
    `registry` holds the records, health and metrics. Stopped after the test.
    `heartbeat_ttl` and `janitor_interval` follow the `flowctl` marker and ini options.
    """
    from flowctl.controlplane import open_control_plane

    async with open_control_plane(
        port=0,
        heartbeat_ttl=_flowctl_timeouts["heartbeat_ttl"],
        janitor_interval=_flowctl_timeouts["janitor_interval"],
    ) as plane:
        yield plane


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Any:  # a generator: pluggy's old-style wrapper, for pytest before 8 too
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    folders = item.stash.get(_LOG_DIRS, [])
    if report.failed and folders and not item.stash.get(_LOGS_ATTACHED, False):
        item.stash[_LOGS_ATTACHED] = True
        for folder in folders:
            for log in sorted(folder.glob("*.log")):
                report.sections.append((f"flowctl log {log.stem} ({log})", _tail(log)))


def _tail(log: Path) -> str:
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    if len(lines) <= _LOG_TAIL_LINES:
        return "\n".join(lines)
    cut = len(lines) - _LOG_TAIL_LINES
    return "\n".join([f"[{cut} earlier lines are in the file]", *lines[cut:]])
