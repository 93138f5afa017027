"""Random and mutated Register/Heartbeat bodies against a live `flowctl server`: every
answer is a deliberate status, the server never crashes or prints a traceback, and what
it stored can always be listed."""

from __future__ import annotations

import json
import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from cli.cli_helpers import FLOWCTL, cli_env
from hard_helpers import (
    GET_SERVICE_STATUS,
    HEARTBEAT,
    LIST_SERVICES,
    REGISTER,
    RawClient,
    raw_client,
    varint,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowctl._proto import flowctl as pb

ACCEPTABLE = {grpc.StatusCode.OK, grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND}

VALID = [
    bytes(pb.ServiceInfo(service_type=1, output_event_types=["a.b"], metadata={"k": "v"})),
    bytes(pb.ServiceInfo(service_id="fuzz", service_type=2, max_inflight=-3)),
    bytes(pb.ServiceHeartbeat(service_id="fuzz", metrics={"n": 1.5, "z": 0.0})),
]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A valid body with a few bytes flipped, inserted or cut."""
    body = bytearray(draw(st.sampled_from(VALID)))
    for _ in range(draw(st.integers(1, 4))):
        where = draw(st.integers(0, len(body)))
        action = draw(st.sampled_from(["flip", "insert", "cut"]))
        if action == "insert" or not body:
            body[where:where] = draw(st.binary(min_size=1, max_size=4))
        elif action == "flip":
            body[min(where, len(body) - 1)] ^= draw(st.integers(1, 255))
        else:
            del body[where : where + draw(st.integers(1, 3))]
    return bytes(body)


@st.composite
def fields(draw: st.DrawFn) -> bytes:
    """Well-framed fields with any number and wire type, known numbers included."""
    out = b""
    for _ in range(draw(st.integers(0, 6))):
        number = draw(st.integers(1, 9) | st.integers(1, 2**29 - 1))
        wire = draw(st.sampled_from([0, 1, 2, 5]))
        out += varint(number << 3 | wire)
        if wire == 0:
            out += varint(draw(st.integers(0, 2**64 - 1)))
        elif wire in (1, 5):
            out += draw(st.binary(min_size=8 if wire == 1 else 4, max_size=8 if wire == 1 else 4))
        else:
            payload = draw(st.binary(max_size=12) | st.sampled_from(VALID))
            out += varint(len(payload)) + payload
    return out


bodies = st.binary(max_size=64) | mutated() | fields()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    folder = tmp_path_factory.mktemp("fuzz")
    process = subprocess.Popen(
        [FLOWCTL, "server", "--port", "0", "--no-persistence"],
        cwd=folder,
        env=cli_env(HOME=str(folder)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    try:
        for line in process.stdout:
            found = re.search(r"control plane listening on (\S+:\d+)", line)
            if found:
                break
        else:
            pytest.fail("flowctl server did not start")
        yield found.group(1), process
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    assert "Traceback" not in output, output


@pytest.fixture(scope="module")
def client(server: tuple[str, subprocess.Popen[str]]) -> Iterator[RawClient]:
    with raw_client(server[0]) as client:
        yield client


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(method=st.sampled_from([REGISTER, HEARTBEAT, GET_SERVICE_STATUS]), body=bodies)
def test_any_body_gets_a_deliberate_status(client: RawClient, method: str, body: bytes) -> None:
    answer = client.call_blocking(method, body)
    assert answer.code in ACCEPTABLE, (answer.code, body.hex())


def test_what_the_fuzzing_stored_can_be_listed(
    server: tuple[str, subprocess.Popen[str]], client: RawClient, tmp_path: Path
) -> None:
    answer = client.call_blocking(LIST_SERVICES)
    assert answer.code == grpc.StatusCode.OK
    assert answer.body is not None
    assert pb.ServiceList().parse(answer.body).services, "the fuzzing registered nothing"
    for output in ("json", "table"):
        done = subprocess.run(
            [FLOWCTL, "list", "--endpoint", server[0], "--output", output],
            env=cli_env(),
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
        )
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stdout + done.stderr
        if output == "json":
            json.loads(done.stdout)
    assert server[1].poll() is None, "the server died"
