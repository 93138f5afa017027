"""`flowctl list` reads a plain command line without cyclopts (cli/list_args.py); whatever
it reads must be bound exactly as cyclopts binds it, and anything else goes to cyclopts."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import run_flowctl

from flowctl.cli.app import get_app
from flowctl.cli.list_args import plain_list_arguments

PLAIN = [
    ["list"],
    ["list", "--runs"],
    ["list", "--endpoint", "127.0.0.1:8080"],
    ["list", "--endpoint=https://example.org:443"],
    ["list", "--run", "mypipe", "--output", "json"],
    ["list", "--output=table", "--run=1234"],
    ["list", "--endpoint", "[::1]:9", "--tls-ca-cert", "ca.pem"],
    ["list", "--tls-cert", "~/c.pem", "--tls-key=k.pem", "--tls-ca-cert", "/a b/ca.pem"],
    ["list", "--runs", "--output", "json"],
    ["list", "--runs", "--endpoint", "x:1"],  # bound; list_services itself refuses it
]


@pytest.mark.parametrize("args", PLAIN, ids=" ".join)
def test_a_plain_line_is_bound_as_cyclopts_binds_it(args: list[str]) -> None:
    command, bound, _ = get_app().parse_args(args)
    assert command.__name__ == "list_services"
    assert not bound.args
    assert plain_list_arguments(args) == bound.kwargs


@pytest.mark.parametrize(
    "args",
    [
        ["list", "--help"],
        ["list", "-h"],
        ["list", "--output", "xml"],  # cyclopts' error names the choices
        ["list", "--output", "JSON"],
        ["list", "--endpoint"],  # no value
        ["list", "--endpoint", "--runs"],
        ["list", "--endpoint="],
        ["list", "--endpoint", "a:1", "--endpoint", "b:2"],  # repeated
        ["list", "--runs", "--runs"],
        ["list", "--runs=true"],
        ["list", "--no-runs"],
        ["list", "positional"],
        ["list", "--nope"],
        ["list", "--tls-key", "-k.pem"],
        ["--help", "list"],
        ["run", "--endpoint", "x"],
        [],
    ],
    ids=lambda args: " ".join(args) or "(nothing)",
)
def test_anything_else_is_left_to_cyclopts(args: list[str]) -> None:
    assert plain_list_arguments(args) is None


async def test_list_help_and_errors_still_come_from_cyclopts(tmp_path: Path) -> None:
    status, out, err = await run_flowctl(["list", "--help"], cwd=tmp_path)
    assert status == 0, err
    for option in ("--endpoint", "--run", "--runs", "--output", "--tls-ca-cert", "--tls-key"):
        assert option in out
    status, out, err = await run_flowctl(["list", "--output", "xml"], cwd=tmp_path)
    assert status == 2
    assert out == ""
    assert err.strip() == (
        'flowctl: error: Invalid value "xml" for --output. Choose from: "table", "json".'
    )
