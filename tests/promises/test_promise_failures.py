"""README "Exit status and errors": a component that exits (even with status 0) fails the
run; the failure report names its log file, in text and as one JSON object; log files
start empty at each run; a missing working_dir stops the run before anything starts."""

from __future__ import annotations

import json
from pathlib import Path

from promise_helpers import fake_command, noting_command, run_args, run_flowctl

from flowctl.testing import write_pipeline


def exits_zero(tmp_path: Path, lines: int) -> Path:
    """`done` prints `lines` lines, registers, then exits with status 0 on its own."""
    return write_pipeline(
        tmp_path / "p.yaml",
        sources=[{"id": "src", "command": fake_command()}],
        sinks=[
            {
                "id": "done",
                "inputs": ["src"],
                "command": fake_command("--lines", str(lines), "--exit-after", "0"),
            }
        ],
    )


async def test_exiting_0_fails_the_run_and_the_report_names_the_log_file(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "done.log"
    status, out, err = await run_flowctl(run_args(exits_zero(tmp_path, 5), tmp_path), cwd=tmp_path)
    assert status == 1, out + err
    assert "'done'" in err and "exited normally" in err
    assert f"full output: {log}" in err.splitlines()
    assert "done line 5" in err  # its last lines
    assert "Traceback" not in out + err
    assert "done line 5" in log.read_text()

    # The same log folder again, as JSON: the report is one object, the log file is new.
    args = run_args(exits_zero(tmp_path, 2), tmp_path, "--log-format", "json")
    status, out, err = await run_flowctl(args, cwd=tmp_path)
    assert status == 1, out + err
    records = [json.loads(line) for line in err.splitlines() if line.strip()]
    [report] = [record for record in records if record["level"] == "ERROR"]
    assert report["component"] == "done"
    assert "exited normally" in report["cause"]
    assert report["log_path"] == str(log)
    assert "done line 2" in report["last_lines"]
    assert {component["id"] for component in report["components"]} == {"src", "done"}
    assert "Traceback" not in out + err
    written = log.read_text()
    assert "done line 2" in written and "done line 3" not in written, written  # truncated


async def test_a_missing_working_dir_is_refused_before_anything_starts(tmp_path: Path) -> None:
    notes = tmp_path / "starts"
    path = write_pipeline(
        tmp_path / "p.yaml",
        sources=[{"id": "fine", "command": noting_command(tmp_path, notes)}],
        sinks=[
            {
                "id": "lost",
                "inputs": ["fine"],
                "command": fake_command(),
                "working_dir": "not-here",
            }
        ],
    )
    status, out, err = await run_flowctl(run_args(path, tmp_path), cwd=tmp_path)
    assert status == 1, out + err
    assert "'lost'" in err and str(tmp_path / "not-here") in err
    assert "Traceback" not in out + err
    assert not notes.exists(), "nothing may start"
    assert not (tmp_path / "logs").exists()
