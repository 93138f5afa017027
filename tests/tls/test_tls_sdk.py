"""flowctl.sdk reads FLOWCTL_TLS_* and connects with TLS when they say so; a file that
cannot be used is a bad environment, named."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import trio
from cli.cli_helpers import cli_env, run_flowctl
from tls_helpers import Certs, start_server, stop_server

from flowctl.sdk import ComponentSettings

SDK_COMPONENT = Path(__file__).parent / "sdk_component.py"


def test_settings_read_the_tls_variables(certs: Certs) -> None:
    settings = ComponentSettings.from_env(
        {
            "FLOWCTL_TLS_CA_CERT": str(certs.ca),
            "FLOWCTL_TLS_CERT": str(certs.client),
            "FLOWCTL_TLS_KEY": str(certs.client_key),
        }
    )
    assert (settings.tls, settings.tls_ca_file) == (True, certs.ca)
    assert (settings.tls_cert_file, settings.tls_key_file) == (certs.client, certs.client_key)
    assert ComponentSettings.from_env({}).ssl_context() is None
    # https:// asks for TLS with the system's CAs.
    assert ComponentSettings.from_env({"FLOWCTL_ENDPOINT": "https://example.org:443"}).tls


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"FLOWCTL_TLS_CA_CERT": "/no/such.pem"}, "FLOWCTL_TLS_CA_CERT /no/such.pem: no such file"),
        ({"FLOWCTL_TLS_CERT": "c.pem"}, "FLOWCTL_TLS_CERT is set but FLOWCTL_TLS_KEY is not"),
    ],
)
def test_unusable_tls_variables_are_named(variables: dict[str, str], expected: str) -> None:
    with pytest.raises(ValueError, match="^" + expected):
        ComponentSettings.from_env(variables)


def test_a_key_that_does_not_match_is_named(certs: Certs) -> None:
    with pytest.raises(ValueError) as raised:
        ComponentSettings.from_env(
            {
                "FLOWCTL_TLS_CA_CERT": str(certs.ca),
                "FLOWCTL_TLS_CERT": str(certs.client),
                "FLOWCTL_TLS_KEY": str(certs.server_key),
            }
        )
    assert str(raised.value) == (
        f"FLOWCTL_TLS_KEY {certs.server_key}: does not match the certificate in {certs.client}"
    )


async def run_sdk_component_until(endpoint: str, wanted: str, **tls: str) -> str:
    """Start the SDK component against `endpoint`, read its output until a line has
    `wanted`, then stop it (SIGTERM): its whole output."""
    env = cli_env(
        ENABLE_FLOWCTL="true",
        FLOWCTL_ENDPOINT=endpoint,
        FLOWCTL_SERVICE_ID="sdk-over-tls",
        **tls,
    )
    process = await trio.lowlevel.open_process(
        [sys.executable, str(SDK_COMPONENT)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    output = b""
    try:
        assert process.stdout is not None
        with trio.fail_after(60):  # a guard against hangs
            async for chunk in process.stdout:
                output += chunk
                if wanted.encode() in output:
                    break
        process.send_signal(signal.SIGTERM)
        with trio.fail_after(60):
            await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    return output.decode(errors="replace")


async def test_the_sdk_registers_over_mutual_tls(tmp_path: Path, certs: Certs) -> None:
    client = {
        "FLOWCTL_TLS_CA_CERT": str(certs.ca),
        "FLOWCTL_TLS_CERT": str(certs.client),
        "FLOWCTL_TLS_KEY": str(certs.client_key),
    }
    async with trio.open_nursery() as nursery:
        server, endpoint = await start_server(nursery, tmp_path, certs.server_args(mutual=True))
        output = await run_sdk_component_until(endpoint, "registered with", **client)
        status, listed, err = await run_flowctl(
            [
                *("list", "--endpoint", endpoint, "--output", "json"),
                *("--tls-ca-cert", str(certs.ca)),
                *("--tls-cert", str(certs.client), "--tls-key", str(certs.client_key)),
            ],
            cwd=tmp_path,
        )
        await stop_server(server)
    assert f"registered with the control plane at {endpoint} as 'sdk-over-tls'" in output
    assert status == 0, err
    assert [s["serviceId"] for s in json.loads(listed)["services"]] == ["sdk-over-tls"]


async def test_the_sdk_says_when_it_does_not_trust_the_server(tmp_path: Path, certs: Certs) -> None:
    async with trio.open_nursery() as nursery:
        server, endpoint = await start_server(nursery, tmp_path, certs.server_args())
        output = await run_sdk_component_until(
            endpoint, "retrying registration", FLOWCTL_TLS_CA_CERT=str(certs.other_ca)
        )
        await stop_server(server)
    assert "its TLS certificate is not trusted (" in output
    assert "FLOWCTL_TLS_CA_CERT names what to trust" in output
