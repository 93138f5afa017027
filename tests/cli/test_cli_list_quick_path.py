"""`flowctl list` against a working plain-text server answers without the gRPC stack
(grpc_unary.py, list_decoding.py), and says what the full client says."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import trio
import trio_asyncio
from cli_helpers import run_flowctl, start_flowctl
from grpclib.client import Channel

from flowctl._proto import flowctl as pb
from flowctl.controlplane.client import fetch_services
from flowctl.controlplane.json_format import service_list_to_json

# Imported by the full client; the quick path needs none of them.
FULL_CLIENT_MODULES = {"asyncio", "betterproto", "grpclib", "flowctl._proto.flowctl"}

ODD_METRICS = {"rate": 2.5, "lag": math.nan, "peak": math.inf, "floor": -math.inf, "é": 1.0}


async def register_three(endpoint: str) -> None:
    host, port = endpoint.rsplit(":", 1)

    async def talk() -> None:
        channel = Channel(host, int(port))
        try:
            stub = pb.ControlPlaneStub(channel)
            for service_id, service_type in (("src", 1), ("newer", 7), ("snk", 3)):
                await stub.register(
                    pb.ServiceInfo(service_id=service_id, service_type=service_type)
                )
                await stub.heartbeat(
                    pb.ServiceHeartbeat(service_id=service_id, metrics=ODD_METRICS)
                )
        finally:
            channel.close()

    await trio_asyncio.aio_as_trio(talk)()


def list_with_importtime(args: list[str], tmp_path: Path) -> tuple[str, set[str]]:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "flowctl", "list", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "FLOWCTL_RUNTIME_DIR": str(tmp_path)},
    )
    lines = result.stderr.splitlines()
    modules = {line.rsplit("|", 1)[1].strip() for line in lines if line.startswith("import time:")}
    said = [line for line in lines if not line.startswith("import time:")]
    assert result.returncode == 0, said
    return result.stdout, modules


async def test_list_answers_without_the_grpc_stack_and_as_the_full_client(
    tmp_path: Path,
) -> None:
    async with trio.open_nursery() as nursery, trio_asyncio.open_loop():
        server = await start_flowctl(
            nursery, ["server", "--port", "0", "--no-persistence"], cwd=tmp_path
        )
        endpoint = await server.endpoint()
        await register_three(endpoint)

        json_out, json_modules = await trio.to_thread.run_sync(
            list_with_importtime, ["--endpoint", endpoint, "--output", "json"], tmp_path
        )
        table_out, table_modules = await trio.to_thread.run_sync(
            list_with_importtime, ["--endpoint", endpoint], tmp_path
        )
        full = await trio_asyncio.aio_as_trio(fetch_services)(endpoint)

        server.send_signal(signal.SIGTERM)
        assert await server.wait() == 0
        nursery.cancel_scope.cancel()

    assert not FULL_CLIENT_MODULES & (json_modules | table_modules)
    assert json_out.strip() == service_list_to_json(full)
    assert [s["serviceType"] for s in json.loads(json_out)["services"]] == [
        "SERVICE_TYPE_SOURCE",
        7,
        "SERVICE_TYPE_SINK",
    ]
    rows = {line.split()[0]: line for line in table_out.splitlines()[1:]}
    assert rows.keys() == {"src", "newer", "snk"}
    # NaN and infinities are shown as such (they used to end `list` with a traceback).
    assert "lag=nan rate=2.5 floor=-inf" in rows["src"], table_out
    assert " 7 " in rows["newer"] and "no: the server runs no pipeline" in rows["newer"]


async def test_list_of_a_refused_endpoint_words_it_as_before(tmp_path: Path) -> None:
    # The quick path gives up; the full client asks again and says why.
    status, out, err = await run_flowctl(["list", "--endpoint", "127.0.0.1:1"], cwd=tmp_path)
    assert status == 1
    assert "no control plane answered at 127.0.0.1:1: connection refused" in err, err
    assert "Traceback" not in out + err
