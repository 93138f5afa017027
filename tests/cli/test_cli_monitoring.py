"""What `flowctl run` shows outside a terminal: plain lines, JSON lines, health changes,
the failure report; and `flowctl list` agreeing with it."""

from __future__ import annotations

import json
import re
import signal
import subprocess
from pathlib import Path

import trio
from cli_helpers import FLOWCTL, cli_env, run_flowctl, start_flowctl
from fake_component_command import fake_command

from flowctl.testing import write_pipeline

LOG_LINE = re.compile(r"^\d\d:\d\d:\d\d\.\d{3} (\S+) +([|!]) (.*)$")


def run_args(path: Path, tmp_path: Path, *extra: str) -> list[str]:
    return [
        "run",
        str(path),
        "--control-plane-port",
        "0",
        "--log-dir",
        str(tmp_path / "logs"),
        *extra,
    ]


async def test_plain_output_has_aligned_stamped_lines_and_summaries(tmp_path: Path) -> None:
    path = write_pipeline(
        tmp_path / "p.yaml",
        sources=[
            {
                "id": "src",
                "command": fake_command("--lines", "2", "--stderr-lines", "1", "--awkward-output"),
            }
        ],
        sinks=[{"id": "a-longer-sink", "inputs": ["src"], "command": fake_command()}],
    )
    async with trio.open_nursery() as nursery:
        flowctl = await start_flowctl(
            nursery, run_args(path, tmp_path, "--summary-interval", "500ms"), cwd=tmp_path
        )
        await flowctl.wait_for_line(r"\| 2/2 healthy$")
        flowctl.send_signal(signal.SIGINT)
        assert await flowctl.wait() == 0, flowctl.output
        nursery.cancel_scope.cancel()

    stdout = "\n".join(flowctl.stdout)
    assert "\x1b" not in stdout, "no escape codes outside a terminal"
    lines = [line for line in flowctl.stdout if line]
    parsed = [LOG_LINE.match(line) for line in lines]
    assert all(parsed), "\n".join(line for line, p in zip(lines, parsed, strict=True) if not p)
    # The names are padded: every mark is in the same column.
    assert len({match.start(2) for match in parsed if match}) == 1
    by_source = [(m.group(1), m.group(2), m.group(3)) for m in parsed if m]
    assert ("src", "|", "src line 2") in by_source
    assert ("src", "!", "src complains 1") in by_source, "stderr lines are marked"
    assert ("src", "|", "bad bytes \ufffd\ufffd here") in by_source
    assert ("src", "|", "red and clear") in by_source, "a component's escapes are dropped"
    assert ("src", "|", "100%") in by_source, "after a carriage return, what a terminal shows"
    assert any(text.endswith("more characters in its log)") for _, _, text in by_source)
    assert ("flowctl", "|", "a-longer-sink stopped (exited normally)") in by_source
    # The log file keeps the raw output.
    raw = (tmp_path / "logs" / "src.log").read_bytes()
    # (stderr's chunks may fall between the stdout reads of the long line)
    assert b"\xff\xfe" in raw and raw.count(b"x") == 100_000 and b"\x1b[31m" in raw


async def test_json_lines_to_a_file(tmp_path: Path) -> None:
    path = write_pipeline(
        tmp_path / "p.yaml",
        sources=[
            {
                "id": "src",
                "command": fake_command("--lines", "3", "--stderr-lines", "1", "--awkward-output"),
            }
        ],
        sinks=[{"id": "sink", "inputs": ["src"], "command": fake_command("--lines", "1")}],
    )
    out = tmp_path / "out.jsonl"
    with out.open("wb") as file:
        process = await trio.lowlevel.open_process(
            [FLOWCTL, *run_args(path, tmp_path, "--log-format", "json", "--log-level", "debug")],
            cwd=tmp_path,
            env=cli_env(),
            stdin=subprocess.DEVNULL,
            stdout=file,
            stderr=subprocess.PIPE,
        )
    try:
        # Hang guard: wait for the barrier line, and for the sink's first heartbeat (sent
        # right after it registered: it may come after the barrier).
        with trio.fail_after(30):
            while not all(
                line in out.read_text(errors="replace")
                for line in ("all 2 components registered", "heartbeat from sink")
            ):
                assert process.returncode is None, out.read_text()
                await trio.sleep(0.05)
        process.send_signal(signal.SIGINT)
        with trio.fail_after(30):
            assert await process.wait() == 0
    finally:
        if process.returncode is None:
            process.kill()

    text = out.read_text(encoding="utf-8")
    records = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert all({"time", "level", "message"} <= record.keys() for record in records)
    output = {(r.get("component"), r.get("stream"), r["message"]) for r in records}
    assert ("src", "stdout", "src line 3") in output
    assert ("src", "stderr", "src complains 1") in output
    assert ("sink", "stdout", "sink line 1") in output
    assert ("src", "stdout", "bad bytes \ufffd\ufffd here") in output
    assert ("src", "stdout", "x" * 100_000) in output, "JSON keeps whole lines"
    # flowctl's own events name the component they are about.
    assert ("src", None, "registered src (by id)") in output
    assert any(r["level"] == "DEBUG" and "heartbeat from sink" in r["message"] for r in records)
    assert any(r["message"] == "stopped" and "component" not in r for r in records)


async def test_a_silent_component_is_reported_unhealthy_and_list_agrees(
    tmp_path: Path,
) -> None:
    path = write_pipeline(
        tmp_path / "p.yaml",
        sources=[{"id": "steady", "command": fake_command()}],
        sinks=[
            {
                "id": "silent",
                "inputs": ["steady"],
                "command": fake_command("--type", "sink", "--stop-heartbeat-after", "0.5"),
            }
        ],
    )
    args = run_args(
        path,
        tmp_path,
        "--heartbeat-ttl",
        "2s",
        "--janitor-interval",
        "500ms",
        "--summary-interval",
        "500ms",
    )
    async with trio.open_nursery() as nursery:
        flowctl = await start_flowctl(nursery, args, cwd=tmp_path)
        await flowctl.wait_for_line(r"warning: silent is unhealthy: no heartbeat for \d+\.\ds")
        await flowctl.wait_for_line(r"\| 1/2 healthy; silent unhealthy$")

        # `silent` never heartbeats again: every list must show it unhealthy. `steady`
        # heartbeats every 0.2 s, but a loaded machine may starve it past the 2 s TTL for a
        # moment; so list until it shows healthy again (an event), never on a schedule.
        with trio.fail_after(60):  # hang guard
            while True:
                status, out, err = await run_flowctl(["list"], cwd=tmp_path)
                assert status == 0, err
                header, *rows = out.splitlines()
                # The live view's columns that a ServiceStatus can fill (a command may add more).
                assert header.split()[:5] == ["ID", "TYPE", "STATE", "HEARTBEAT", "METRICS"]
                states = {row.split()[0]: row.split()[1:3] for row in rows}
                assert sorted(states) == ["silent", "steady"], out
                assert states["silent"] == ["sink", "unhealthy"], out
                if states["steady"] == ["source", "healthy"]:
                    break

        flowctl.send_signal(signal.SIGINT)
        assert await flowctl.wait() == 0, flowctl.output
        nursery.cancel_scope.cancel()


async def test_a_failure_repeats_the_last_lines_and_ends_with_every_state(
    tmp_path: Path,
) -> None:
    path = write_pipeline(
        tmp_path / "p.yaml",
        sources=[{"id": "src", "command": fake_command()}],
        sinks=[
            {
                "id": "bad",
                "inputs": ["src"],
                "command": fake_command(
                    "--lines", "200", "--exit-after", "0.3", "--exit-code", "3"
                ),
            }
        ],
    )
    status, out, err = await run_flowctl(run_args(path, tmp_path), cwd=tmp_path)
    assert status == 1
    lines = err.splitlines()
    assert lines[0] == "flowctl: error: component 'bad' exited with status 3 after it registered"
    assert "last 20 lines from 'bad':" in lines
    start = lines.index("last 20 lines from 'bad':") + 1
    repeated = [line.strip() for line in lines[start : start + 20]]
    # Its last 20 lines: the end of its count, then what it said on stderr (the order of
    # the two streams is only certain within each).
    counted = [line for line in repeated if line.startswith("bad line ")]
    assert counted == [f"bad line {n}" for n in range(201 - len(counted), 201)]
    assert len(counted) >= 15 and "exiting with 3" in repeated
    final = lines[lines.index("final state of each component:") + 1 :]
    assert final[0].split() == ["ID", "TYPE", "STATE", "UPTIME", "HEARTBEAT"]
    states = {row.split()[0]: " ".join(row.split()[1:4]) for row in final[1:]}
    assert states["bad"].startswith("sink exited 3")
    assert states["src"].startswith("source stopped")
    assert "Traceback" not in out + err


async def test_a_bad_pipeline_file_is_a_json_error_with_log_format_json(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("apiVersion: v1\nkind: Pipeline\nspec: [unclosed\n")
    status, _, err = await run_flowctl(["run", str(broken), "--log-format", "json"], cwd=tmp_path)
    assert status == 2
    [record] = [json.loads(line) for line in err.splitlines() if line.strip()]
    assert record["level"] == "ERROR"
    assert "broken.yaml" in record["message"] and "line" in record["message"]
