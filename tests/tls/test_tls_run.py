"""`flowctl run --tls-*`: the embedded control plane serves TLS only, every component
registers over TLS with what its environment says (FLOWCTL_TLS_*), and `flowctl list`
finds the run and reaches it."""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path

import grpc
import trio
from cli.cli_helpers import cli_env, run_flowctl, start_flowctl
from fake_component_command import fake_command
from tls_helpers import Certs, grpcio_list

from flowctl.testing import write_pipeline

SDK_COMPONENT = Path(__file__).parent / "sdk_component.py"


def two_component_pipeline(tmp_path: Path) -> Path:
    """A raw grpclib component (fake_component.py) and a flowctl.sdk one."""
    return write_pipeline(
        tmp_path / "pipeline.yaml",
        sources=[{"id": "raw-source", "command": fake_command("--outputs", "demo.Event")}],
        sinks=[
            {
                "id": "sdk-sink",
                "command": [sys.executable, str(SDK_COMPONENT)],
                "inputs": ["raw-source"],
                "input_event_types": ["demo.Event"],
            }
        ],
    )


async def run_until_registered(
    tmp_path: Path,
    *options: str,
    env: dict[str, str] | None = None,
    while_running: Callable[[str], Awaitable[None]] | None = None,
) -> str:
    """`flowctl run` of the two-component pipeline with `options`, until both components
    registered (then `while_running(endpoint)`, if given), stopped by Ctrl+C: its output."""
    pipeline = two_component_pipeline(tmp_path)
    args = ["run", str(pipeline), "--control-plane-port", "0", *options]
    async with trio.open_nursery() as nursery:
        run = await start_flowctl(nursery, args, cwd=tmp_path, env=env)
        endpoint = await run.endpoint()
        await run.wait_for_line("all 2 components registered")
        if while_running is not None:
            await while_running(endpoint)
        run.send_signal(signal.SIGINT)
        assert await run.wait() == 0, run.output
    return run.output


async def test_every_component_registers_over_mutual_tls_and_list_finds_the_run(
    tmp_path: Path, certs: Certs
) -> None:
    tls = [
        *("--tls-cert", str(certs.server), "--tls-key", str(certs.server_key)),
        *("--tls-ca-cert", str(certs.ca)),
        *("--tls-client-cert", str(certs.client), "--tls-client-key", str(certs.client_key)),
    ]
    seen: dict[str, object] = {}

    async def look(endpoint: str) -> None:
        seen["endpoint"] = endpoint
        # No --endpoint: the newest run, found with its https:// endpoint.
        seen["listed"] = await run_flowctl(
            [
                *("list", "--output", "json", "--tls-ca-cert", str(certs.ca)),
                *("--tls-cert", str(certs.client), "--tls-key", str(certs.client_key)),
            ],
            cwd=tmp_path,
        )
        seen["runs"] = await run_flowctl(["list", "--runs", "--output", "json"], cwd=tmp_path)
        seen["plain"] = await trio.to_thread.run_sync(partial(grpcio_list, endpoint, plain=True))

    output = await run_until_registered(tmp_path, *tls, while_running=look)
    listed, runs, plain = seen["listed"], seen["runs"], seen["plain"]
    assert isinstance(listed, tuple) and isinstance(runs, tuple), seen
    assert listed[0] == 0, listed
    services = json.loads(listed[1])["services"]
    assert sorted(service["serviceId"] for service in services) == ["raw-source", "sdk-sink"]
    assert json.loads(runs[1])["runs"][0]["endpoint"] == f"https://{seen['endpoint']}"
    assert getattr(plain, "code", None) is grpc.StatusCode.UNAVAILABLE  # TLS only
    assert (
        f"tls env: FLOWCTL_TLS_CA_CERT={certs.ca} FLOWCTL_TLS_CERT={certs.client} "
        f"FLOWCTL_TLS_KEY={certs.client_key}"
    ) in output


async def test_without_a_ca_components_trust_the_server_certificate_itself(
    tmp_path: Path, certs: Certs
) -> None:
    output = await run_until_registered(
        tmp_path, "--tls-cert", str(certs.server), "--tls-key", str(certs.server_key)
    )
    assert f"tls env: FLOWCTL_TLS_CA_CERT={certs.server} FLOWCTL_TLS_CERT= FLOWCTL_TLS_KEY=" in (
        output
    )
    assert "without TLS" not in output


async def test_a_plain_run_gives_components_no_tls_even_when_flowctl_had_some(
    tmp_path: Path, certs: Certs
) -> None:
    """A run started inside a TLS run's component inherits FLOWCTL_TLS_*; its own
    components must not: its control plane speaks plain text."""
    output = await run_until_registered(tmp_path, env=cli_env(FLOWCTL_TLS_CA_CERT=str(certs.ca)))
    assert "tls env: FLOWCTL_TLS_CA_CERT= FLOWCTL_TLS_CERT= FLOWCTL_TLS_KEY=" in output


async def test_a_run_listening_beyond_loopback_without_tls_warns_once(tmp_path: Path) -> None:
    output = await run_until_registered(tmp_path, "--control-plane-address", "0.0.0.0")
    warnings = [line for line in output.splitlines() if "listens on 0.0.0.0 without TLS" in line]
    assert len(warnings) == 1, output


async def test_a_tls_run_on_every_address_has_its_components_dial_loopback(
    tmp_path: Path, certs: Certs
) -> None:
    """The certificate names 127.0.0.1, never 0.0.0.0: components dial what it names."""
    output = await run_until_registered(
        tmp_path,
        *("--control-plane-address", "0.0.0.0"),
        *("--tls-cert", str(certs.server), "--tls-key", str(certs.server_key)),
    )
    assert "registered with the control plane at 127.0.0.1:" in output
    assert "without TLS" not in output
