"""Bad command-line values: one `flowctl: error:` line naming the option and the problem
(one JSON object with --log-format json), exit status 2, nothing started, no traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import run_flowctl
from fake_component_command import fake_command

from flowctl.testing import write_pipeline

PANEL_CHARACTERS = "╭╰│"


def _pipeline(tmp_path: Path) -> Path:
    return write_pipeline(tmp_path / "p.yaml", sources=[{"id": "src", "command": fake_command()}])


def assert_one_error_line(out: str, err: str, *expected: str) -> None:
    assert "Traceback" not in out + err
    assert not any(mark in err for mark in PANEL_CHARACTERS), err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("flowctl: error: "), err
    for text in expected:
        assert text in lines[0], err


@pytest.mark.parametrize("port", ["99999", "-1", "65536", "http"])
async def test_a_port_out_of_range_is_a_usage_error(tmp_path: Path, port: str) -> None:
    status, out, err = await run_flowctl(
        ["run", str(_pipeline(tmp_path)), "--control-plane-port", port], cwd=tmp_path
    )
    assert status == 2
    assert_one_error_line(out, err, "--control-plane-port", port, "0 to 65535")
    assert not (tmp_path / "logs").exists(), "nothing may start"


async def test_the_servers_port_is_checked_too(tmp_path: Path) -> None:
    status, out, err = await run_flowctl(
        ["server", "--no-persistence", "--port", "99999"], cwd=tmp_path
    )
    assert status == 2
    assert_one_error_line(out, err, "--port", "99999")


@pytest.mark.parametrize(
    "option",
    ["--heartbeat-ttl", "--janitor-interval", "--heartbeat-interval", "--registration-timeout"],
)
async def test_a_period_or_timeout_of_zero_is_refused(tmp_path: Path, option: str) -> None:
    status, out, err = await run_flowctl(
        ["run", str(_pipeline(tmp_path)), option, "0s"], cwd=tmp_path
    )
    assert status == 2
    assert_one_error_line(out, err, option, "more than 0")


async def test_the_servers_durations_are_checked_too(tmp_path: Path) -> None:
    status, out, err = await run_flowctl(
        ["server", "--no-persistence", "--heartbeat-ttl", "0"], cwd=tmp_path
    )
    assert status == 2
    assert_one_error_line(out, err, "--heartbeat-ttl", "more than 0")


async def test_an_unresolvable_address_says_so(tmp_path: Path) -> None:
    status, out, err = await run_flowctl(
        ["run", str(_pipeline(tmp_path)), "--control-plane-address", "no-such-host.invalid"],
        cwd=tmp_path,
    )
    assert status == 2
    assert_one_error_line(out, err, "--control-plane-address", "cannot resolve")
    assert "port" not in err, "the port is not the problem"


async def test_an_address_of_another_machine_says_so(tmp_path: Path) -> None:
    # TEST-NET-1 (RFC 5737): never assigned to this machine.
    status, out, err = await run_flowctl(
        ["run", str(_pipeline(tmp_path)), "--control-plane-address", "192.0.2.1"],
        cwd=tmp_path,
    )
    assert status == 2
    assert_one_error_line(out, err, "192.0.2.1", "not an address of this machine")
    assert "port" not in err, "the port is not the problem"


async def test_a_log_dir_that_is_a_file_says_so(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("")
    status, out, err = await run_flowctl(
        ["run", str(_pipeline(tmp_path)), "--log-dir", "afile"], cwd=tmp_path
    )
    assert status == 2
    assert_one_error_line(out, err, "--log-dir afile", "is a file, not a folder")

    status, out, err = await run_flowctl(
        ["run", str(_pipeline(tmp_path)), "--log-dir", "afile/logs"], cwd=tmp_path
    )
    assert status == 2
    assert_one_error_line(out, err, "afile is a file")


@pytest.mark.parametrize(
    "args",
    [
        ["run", "--nope"],
        ["run", "--shutdown-grace", "soon"],
        ["run", "--log-format", "yaml"],
        ["frobnicate"],
        ["list", "--output", "xml"],
    ],
)
async def test_option_errors_are_one_line_not_a_panel(tmp_path: Path, args: list[str]) -> None:
    status, out, err = await run_flowctl(args, cwd=tmp_path)
    assert status == 2
    assert_one_error_line(out, err)
    assert out == ""


@pytest.mark.parametrize(
    "args",
    [
        ["--nope"],  # cyclopts' own error
        ["--heartbeat-ttl", "0s"],  # a value refused
        ["--control-plane-address", "no-such-host.invalid"],  # a check before the start
    ],
)
async def test_with_log_format_json_every_error_is_one_json_object(
    tmp_path: Path, args: list[str]
) -> None:
    status, out, err = await run_flowctl(
        ["run", str(_pipeline(tmp_path)), "--log-format", "json", *args], cwd=tmp_path
    )
    assert status == 2
    assert "Traceback" not in out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    error = json.loads(lines[0])
    assert error["level"] == "ERROR" and error["message"]


async def test_a_grace_of_zero_is_allowed(tmp_path: Path) -> None:
    # 0 is a meaningful grace (kill at once); the file is what fails here, on purpose.
    status, _, err = await run_flowctl(
        ["run", str(tmp_path / "missing.yaml"), "--shutdown-grace", "0s"], cwd=tmp_path
    )
    assert status == 2 and "missing.yaml" in err and "--shutdown-grace" not in err
