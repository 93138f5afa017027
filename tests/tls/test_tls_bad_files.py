"""A TLS file that cannot be used stops `flowctl server` and `flowctl run` with one line
naming the file and the problem, exit 1, before anything listens (or starts); options
that do not go together are usage errors, exit 2."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from cli.cli_helpers import run_flowctl
from fake_component_command import fake_command
from tls_helpers import Certs

from flowctl.testing import write_pipeline

# Root reads a file of mode 0 anyway (CAP_DAC_OVERRIDE), and the suite runs as root here:
# flowctl then runs without the two capabilities that let root ignore a file's mode, as
# any other user would. A user without them needs no launcher.
AS_A_USER = (
    ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"] if os.geteuid() == 0 else []
)


def bad_files(certs: Certs, tmp_path: Path) -> list[tuple[list[str], str]]:
    """(the --tls-* options, the one line expected), one per kind of bad file."""
    not_pem = tmp_path / "notes.txt"
    not_pem.write_text("just words\n")
    unreadable = tmp_path / "unreadable-key.pem"
    shutil.copy(certs.server_key, unreadable)
    unreadable.chmod(0)
    missing = tmp_path / "missing.pem"
    cert, key = str(certs.server), str(certs.server_key)
    return [
        (
            ["--tls-cert", str(missing), "--tls-key", key],
            f"--tls-cert {missing}: no such file",
        ),
        (
            ["--tls-cert", cert, "--tls-key", str(unreadable)],
            f"--tls-key {unreadable}: cannot be read (permission denied)",
        ),
        (
            ["--tls-cert", str(not_pem), "--tls-key", key],
            f"--tls-cert {not_pem}: not a PEM certificate (no BEGIN CERTIFICATE block)",
        ),
        (
            ["--tls-cert", cert, "--tls-key", cert],
            f"--tls-key {cert}: not a PEM private key (no PRIVATE KEY block)",
        ),
        (
            ["--tls-cert", cert, "--tls-key", str(certs.client_key)],
            f"--tls-key {certs.client_key}: does not match the certificate in {cert}",
        ),
        (
            ["--tls-cert", str(certs.expired), "--tls-key", str(certs.expired_key)],
            f"--tls-cert {certs.expired}: the certificate has expired",
        ),
        (
            ["--tls-cert", cert, "--tls-key", key, "--tls-ca-cert", str(not_pem)],
            f"--tls-ca-cert {not_pem}: not a PEM certificate (no BEGIN CERTIFICATE block)",
        ),
        (
            ["--tls-cert", cert, "--tls-key", key, "--tls-ca-cert", str(tmp_path)],
            f"--tls-ca-cert {tmp_path}: is a folder, not a file",
        ),
    ]


async def test_an_unreadable_key_is_named(tmp_path: Path, certs: Certs) -> None:
    options, expected = bad_files(certs, tmp_path)[1]
    status, out, err = await run_flowctl(
        ["server", "--no-persistence", *options], cwd=tmp_path, launcher=AS_A_USER
    )
    assert (status, out, err) == (1, "", f"flowctl: error: {expected}\n")


async def test_server_refuses_each_bad_file_in_one_line_before_listening(
    tmp_path: Path, certs: Certs, isolated_home: Path
) -> None:
    for index, (options, expected) in enumerate(bad_files(certs, tmp_path)):
        # The default registry file: not even it is made when a TLS file is bad.
        status, out, err = await run_flowctl(
            ["server", "--port", "0", *options], cwd=tmp_path, launcher=AS_A_USER
        )
        assert (status, out, err) == (1, "", f"flowctl: error: {expected}\n"), index
        assert not (isolated_home / ".flowctl").exists()


async def test_run_refuses_each_bad_file_in_one_line_before_anything_starts(
    tmp_path: Path, certs: Certs
) -> None:
    pipeline = write_pipeline(
        tmp_path / "pipeline.yaml", sources=[{"id": "src", "command": fake_command()}]
    )
    for index, (options, expected) in enumerate(bad_files(certs, tmp_path)):
        status, out, err = await run_flowctl(
            ["run", str(pipeline), "--control-plane-port", "0", *options],
            cwd=tmp_path,
            launcher=AS_A_USER,
        )
        assert (status, err) == (1, f"flowctl: error: {expected}\n"), (index, out, err)
        assert "listening" not in out
        assert not (tmp_path / "logs").exists()  # no component was started


@pytest.mark.parametrize(
    ("command", "options", "expected"),
    [
        ("server", ["--tls-cert", "c.pem"], "--tls-cert needs --tls-key"),
        ("server", ["--tls-key", "k.pem"], "--tls-key needs --tls-cert"),
        ("server", ["--tls-ca-cert", "ca.pem"], "--tls-ca-cert needs --tls-cert and --tls-key"),
        ("run", ["--tls-ca-cert", "ca.pem"], "--tls-ca-cert needs --tls-cert and --tls-key"),
        (
            "run",
            ["--tls-cert", "c.pem", "--tls-key", "k.pem", "--tls-client-cert", "cc.pem"],
            "--tls-client-cert needs --tls-client-key",
        ),
        (
            "run",
            [
                *("--tls-cert", "c.pem", "--tls-key", "k.pem"),
                *("--tls-client-cert", "cc.pem", "--tls-client-key", "ck.pem"),
            ],
            "--tls-client-cert is for mutual TLS: it needs --tls-ca-cert",
        ),
    ],
)
async def test_tls_options_that_do_not_go_together_are_usage_errors(
    tmp_path: Path, command: str, options: list[str], expected: str
) -> None:
    status, out, err = await run_flowctl([command, *options], cwd=tmp_path)
    assert (status, out) == (2, "")
    assert err.startswith(f"flowctl: error: {expected}")
    assert len(err.splitlines()) == 1
