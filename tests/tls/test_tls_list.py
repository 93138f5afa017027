"""`flowctl list` against TLS servers (and a TLS `flowctl list` against a plain one): it
gets through with the right options, and says in words what is wrong otherwise."""

from __future__ import annotations

import json
from pathlib import Path

import trio
from cli.cli_helpers import run_flowctl
from tls_helpers import Certs, start_server, stop_server


def one_error_line(status: int, out: str, err: str) -> str:
    assert status == 1, (status, out, err)
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err  # no SSL stack trace
    assert lines[0].startswith("flowctl: error: ")
    return lines[0]


async def test_list_reaches_a_tls_server_with_its_ca_and_explains_a_plain_client(
    tmp_path: Path, certs: Certs
) -> None:
    async with trio.open_nursery() as nursery:
        server, endpoint = await start_server(nursery, tmp_path, certs.server_args())
        listed = await run_flowctl(
            ["list", "--endpoint", endpoint, "--tls-ca-cert", str(certs.ca), "--output", "json"],
            cwd=tmp_path,
        )
        # https:// is TLS too; the server's own certificate can stand for its CA.
        pinned = await run_flowctl(
            ["list", "--endpoint", f"https://{endpoint}", "--tls-ca-cert", str(certs.server)],
            cwd=tmp_path,
        )
        plain = await run_flowctl(["list", "--endpoint", endpoint], cwd=tmp_path)
        # https:// alone trusts the system's CAs, which never signed the test CA.
        system_cas = await run_flowctl(["list", "--endpoint", f"https://{endpoint}"], cwd=tmp_path)
        other_ca = await run_flowctl(
            ["list", "--endpoint", endpoint, "--tls-ca-cert", str(certs.other_ca)], cwd=tmp_path
        )
        await stop_server(server)
    assert listed[0] == 0, listed
    assert json.loads(listed[1]) == {"services": []}
    assert pinned[0] == 0, pinned
    assert one_error_line(*plain) == (
        f"flowctl: error: the control plane at {endpoint} speaks TLS; pass --tls-ca-cert FILE "
        f"(the CA that signed its certificate), or write the endpoint https://{endpoint} to "
        "trust the system's CAs"
    )
    for refused in (system_cas, other_ca):
        line = one_error_line(*refused)
        assert f"the control plane at {endpoint} has a certificate flowctl does not trust" in line
        assert "pass --tls-ca-cert with the CA that signed it" in line


async def test_list_with_tls_against_a_plain_server_says_it_does_not_speak_tls(
    tmp_path: Path, certs: Certs
) -> None:
    async with trio.open_nursery() as nursery:
        server, endpoint = await start_server(nursery, tmp_path, [])
        with_ca = await run_flowctl(
            ["list", "--endpoint", endpoint, "--tls-ca-cert", str(certs.ca)], cwd=tmp_path
        )
        https = await run_flowctl(["list", "--endpoint", f"https://{endpoint}"], cwd=tmp_path)
        await stop_server(server)
    for result in (with_ca, https):
        assert one_error_line(*result) == (
            f"flowctl: error: the control plane at {endpoint} does not speak TLS; leave out "
            "--tls-ca-cert, --tls-cert, --tls-key and https://"
        )


async def test_list_against_mutual_tls_needs_a_client_certificate_from_the_ca(
    tmp_path: Path, certs: Certs
) -> None:
    ca = ["--tls-ca-cert", str(certs.ca)]
    async with trio.open_nursery() as nursery:
        server, endpoint = await start_server(nursery, tmp_path, certs.server_args(mutual=True))
        base = ["list", "--endpoint", endpoint, *ca]
        without = await run_flowctl(base, cwd=tmp_path)
        other = await run_flowctl(
            [
                *base,
                "--tls-cert",
                str(certs.other_client),
                "--tls-key",
                str(certs.other_client_key),
            ],
            cwd=tmp_path,
        )
        valid = await run_flowctl(
            [*base, "--tls-cert", str(certs.client), "--tls-key", str(certs.client_key)],
            cwd=tmp_path,
        )
        await stop_server(server)
    assert "requires a client certificate (mutual TLS" in one_error_line(*without)
    assert "pass --tls-cert and --tls-key" in one_error_line(*without)
    assert "refused flowctl's client certificate" in one_error_line(*other)
    assert valid[0] == 0, valid
    assert "no services registered" in valid[1] + valid[2]


async def test_list_tls_options_that_do_not_go_together_are_usage_errors(
    tmp_path: Path, certs: Certs
) -> None:
    status, out, err = await run_flowctl(
        ["list", "--endpoint", "127.0.0.1:1", "--tls-cert", str(certs.client)], cwd=tmp_path
    )
    assert (status, out) == (2, "")
    assert err == (
        "flowctl: error: --tls-cert needs --tls-key: the certificate and its key go together\n"
    )
