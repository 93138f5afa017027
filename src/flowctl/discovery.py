"""Finding a running `flowctl run` from another terminal (design.md).

Each live run writes `<runtime dir>/runs/<pid>.json` (pid, pipeline, endpoint, start time,
number of components) and removes it on exit. `flowctl list` reads them, drops entries
whose pid is gone, and falls back to localhost:8080 (the standalone server's default)
when none is left; with several, `--run NAME|PID` chooses (`choose_run`).
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
from dataclasses import asdict, dataclass, fields
from pathlib import Path

DEFAULT_ENDPOINT = "localhost:8080"


@dataclass(frozen=True)
class RunRecord:
    pid: int
    pipeline: str
    pipeline_file: str
    endpoint: str
    started_at: float
    components: int = 0  # 0 in the records of older flowctl versions


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
            data = json.loads(path.read_text())
            # Fields this version does not know (a newer flowctl's) are left aside.
            record = RunRecord(**{key: data[key] for key in _FIELDS if key in data})
        except (OSError, ValueError, TypeError):
            continue
        if _alive(record.pid):
            runs.append(record)
        else:
            path.unlink(missing_ok=True)
    runs.sort(key=lambda record: record.started_at, reverse=True)
    return runs


def choose_run(runs: list[RunRecord], wanted: str) -> RunRecord:
    """The live run named by `wanted`: its pid, else its pipeline's name.

    Raises LookupError with a message for the user (none matches, or several do)."""
    if wanted.isdigit():
        matches = [run for run in runs if run.pid == int(wanted)]
    else:
        matches = [run for run in runs if run.pipeline == wanted]
    if len(matches) == 1:
        return matches[0]
    live = ", ".join(f"{run.pipeline} (pid {run.pid})" for run in runs) or "none"
    if not matches:
        raise LookupError(f"no live run is {wanted!r}; live runs: {live}")
    pids = ", ".join(str(run.pid) for run in matches)
    raise LookupError(f"{len(matches)} live runs are {wanted!r} (pids {pids}); choose one by pid")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def new_record(pipeline: str, pipeline_file: str, endpoint: str, components: int) -> RunRecord:
    return RunRecord(os.getpid(), pipeline, pipeline_file, endpoint, time.time(), components)


_FIELDS = [field.name for field in fields(RunRecord)]
