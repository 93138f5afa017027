"""Which control plane `flowctl list` asks, when several `flowctl run`s are live on the
machine, and the `flowctl list --runs` table of them. No trio, no gRPC: it stays quick."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from datetime import datetime

from flowctl.console.text_table import Column, render_text_table
from flowctl.discovery import DEFAULT_ENDPOINT, RunRecord, choose_run, live_runs
from flowctl.errors import FlowctlError, UsageError


@dataclass(frozen=True)
class Target:
    endpoint: str
    # Added to "no control plane answered" when the endpoint was only a guess.
    hint: str = ""


def choose_target(endpoint: str | None, run: str | None) -> Target:
    """--endpoint as given; else --run NAME|PID among the live runs; else the newest live
    run, saying so on stderr when there are others; else the standalone server's default."""
    if endpoint is not None:
        if run is not None:
            raise UsageError("--endpoint and --run cannot be used together")
        return Target(endpoint)
    runs = live_runs()
    if run is not None:
        try:
            return Target(choose_run(runs, run).endpoint)
        except LookupError as error:
            raise FlowctlError(f"--run {run}: {error}") from None
    if not runs:
        return Target(
            DEFAULT_ENDPOINT,
            " (no `flowctl run` is running and no server answers on the default port)",
        )
    newest = runs[0]
    if len(runs) > 1:
        # Every time, on stderr: stdout stays exactly the list (or the JSON).
        print(
            f"flowctl: {len(runs)} runs are live; showing the newest, pipeline "
            f"{newest.pipeline} (pid {newest.pid}, {newest.endpoint}); pick another with "
            "--run NAME|PID (see flowctl list --runs)",
            file=sys.stderr,
        )
    return Target(newest.endpoint)


RUN_COLUMNS = (
    Column[RunRecord]("PIPELINE", lambda run: run.pipeline),
    Column[RunRecord]("PID", lambda run: str(run.pid)),
    Column[RunRecord]("ENDPOINT", lambda run: run.endpoint),
    Column[RunRecord]("STARTED", lambda run: _started(run.started_at)),
    Column[RunRecord]("COMPONENTS", lambda run: str(run.components) if run.components else "?"),
    Column[RunRecord]("FILE", lambda run: run.pipeline_file),
)


def print_runs(output: str) -> None:
    """`flowctl list --runs`: one line per live run, newest first."""
    runs = live_runs()
    if output == "json":
        print(json.dumps({"runs": [_run_object(run) for run in runs]}, indent=2))
    elif runs:
        print(render_text_table(runs, RUN_COLUMNS))
    else:
        print("no `flowctl run` is live", file=sys.stderr)


def _run_object(run: RunRecord) -> dict[str, object]:
    return {
        "pipeline": run.pipeline,
        "pid": run.pid,
        "endpoint": run.endpoint,
        "started": datetime.fromtimestamp(run.started_at)
        .astimezone()
        .isoformat(timespec="seconds"),
        "components": run.components,
        "file": run.pipeline_file,
    }


def _started(timestamp: float) -> str:
    """Time of day for a run started today, else the date too."""
    started = datetime.fromtimestamp(timestamp)
    if started.date() == datetime.now().date():
        return started.strftime("%H:%M:%S")
    return started.strftime("%Y-%m-%d %H:%M")
