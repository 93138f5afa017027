"""Finding a running `flowctl run` from another terminal (design.md).

Each live run writes `<runtime dir>/runs/<pid>.json` (pid, pipeline, endpoint, start time)
and removes it on exit. `flowctl list` reads them, drops entries whose pid is gone, and
falls back to localhost:8080 (the standalone server's default) when none is left.
The runtime dir is $FLOWCTL_RUNTIME_DIR, else $XDG_RUNTIME_DIR/flowctl, else
/tmp/flowctl-<uid>: per user, so users do not see each other's runs.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

DEFAULT_ENDPOINT = "localhost:8080"


@dataclass(frozen=True)
class RunRecord:
    pid: int
    pipeline: str
    pipeline_file: str
    endpoint: str
    started_at: float


def runtime_dir() -> Path:
    explicit = os.environ.get("FLOWCTL_RUNTIME_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg:
        return Path(xdg) / "flowctl"
    return Path(tempfile.gettempdir()) / f"flowctl-{os.getuid()}"


def _runs_dir() -> Path:
    return runtime_dir() / "runs"


@contextmanager
def registered_run(record: RunRecord) -> Iterator[Path]:
    """Announce a live run for as long as the block lasts."""
    folder = _runs_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / f"{record.pid}.json"
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(asdict(record)))
    temporary.replace(path)  # atomic: a reader never sees half a file
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def live_runs() -> list[RunRecord]:
    """Every announced run whose process is still alive, newest first; stale files are removed."""
    runs: list[RunRecord] = []
    folder = _runs_dir()
    if not folder.is_dir():
        return runs
    for path in folder.glob("*.json"):
        try:
            record = RunRecord(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            continue
        if _alive(record.pid):
            runs.append(record)
        else:
            path.unlink(missing_ok=True)
    runs.sort(key=lambda record: record.started_at, reverse=True)
    return runs


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def new_record(pipeline: str, pipeline_file: str, endpoint: str) -> RunRecord:
    return RunRecord(os.getpid(), pipeline, pipeline_file, endpoint, time.time())
