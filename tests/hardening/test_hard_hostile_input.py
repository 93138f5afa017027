"""Careless and hostile clients against a real `flowctl server`, through grpcio.

Every case checks what the sender is told (the status and a message naming the limit or
the rule), that nothing was stored, that an ordinary client is answered meanwhile, and
that the server prints no traceback.
"""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import grpc
import psutil
import pytest
import trio
from cli.cli_helpers import FlowctlProcess, run_flowctl, start_flowctl
from hard_helpers import (
    GET_SERVICE_STATUS,
    HEARTBEAT,
    LIST_SERVICES,
    REGISTER,
    RawClient,
    http2_call,
    varint,
)

from flowctl._proto import flowctl as pb

GUARD = 60  # against hangs only


class Served:
    def __init__(self, server: FlowctlProcess, endpoint: str) -> None:
        self.server = server
        self.endpoint = endpoint
        self.client = RawClient(endpoint)

    async def services(self) -> list[pb.ServiceStatus]:
        answer = await self.client.call(LIST_SERVICES)
        assert answer.code == grpc.StatusCode.OK, answer
        assert answer.body is not None
        return pb.ServiceList().parse(answer.body).services

    async def ordinary_calls(self, name: str) -> None:
        """What a well-behaved component does: register, heartbeat, ask for its status."""
        info = pb.ServiceInfo(service_id=name, service_type=pb.ServiceType.SOURCE)
        for method, body in [
            (REGISTER, bytes(info)),
            (HEARTBEAT, bytes(pb.ServiceHeartbeat(service_id=name, metrics={"n": 1.0}))),
            (GET_SERVICE_STATUS, bytes(pb.ServiceInfo(service_id=name))),
        ]:
            answer = await self.client.call(method, body)
            assert answer.code == grpc.StatusCode.OK, (method, answer)

    async def refused_while_others_are_answered(
        self, method: str, body: bytes, code: grpc.StatusCode
    ) -> str:
        """Send the bad request and ordinary calls at once; return the refusal's message."""
        details: list[str] = []

        async def hostile() -> None:
            answer = await self.client.call(method, body)
            assert answer.code == code, answer
            details.append(answer.details)

        with trio.fail_after(GUARD):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(hostile)
                nursery.start_soon(self.ordinary_calls, "well-behaved")
        assert [s.service_id for s in await self.services()] == ["well-behaved"]
        return details[0]


@asynccontextmanager
async def served(tmp_path: Path, *extra: str) -> AsyncIterator[Served]:
    """`flowctl server` on a free port, in memory unless `extra` names a --db-path."""
    storage = [] if "--db-path" in extra else ["--no-persistence"]
    async with trio.open_nursery() as nursery:
        server = await start_flowctl(
            nursery, ["server", "--port", "0", *storage, *extra], cwd=tmp_path
        )
        plane = Served(server, await server.endpoint())
        try:
            yield plane
        finally:
            plane.client.close()
            server.send_signal(signal.SIGTERM)
            status = await server.wait(timeout=GUARD)
    assert status == 0, server.output
    assert "Traceback" not in server.output, server.output


async def test_an_unknown_one_megabyte_id_is_refused_by_its_length_without_an_echo(
    tmp_path: Path,
) -> None:
    heartbeat = bytes(pb.ServiceHeartbeat(service_id="x" * (1 << 20)))
    async with served(tmp_path) as plane:
        message = await plane.refused_while_others_are_answered(
            HEARTBEAT, heartbeat, grpc.StatusCode.INVALID_ARGUMENT
        )
    assert "service_id" in message and "limit of 256" in message
    assert len(message) < 200


async def test_an_unknown_id_within_the_limit_is_not_found(tmp_path: Path) -> None:
    heartbeat = bytes(pb.ServiceHeartbeat(service_id="nobody"))
    async with served(tmp_path) as plane:
        message = await plane.refused_while_others_are_answered(
            HEARTBEAT, heartbeat, grpc.StatusCode.NOT_FOUND
        )
    assert message == "service nobody not found"


async def test_a_hundred_thousand_metadata_entries_are_refused_before_decoding(
    tmp_path: Path,
) -> None:
    info = pb.ServiceInfo(service_type=1, metadata={f"k{i}": "v" for i in range(100_000)})
    async with served(tmp_path) as plane:
        message = await plane.refused_while_others_are_answered(
            REGISTER, bytes(info), grpc.StatusCode.INVALID_ARGUMENT
        )
    assert "metadata: more than 64 entries" in message


@pytest.mark.parametrize(
    ("field", "info", "limit"),
    [
        ("metrics", pb.ServiceHeartbeat(service_id="s", metrics={f"m{i}": 1 for i in range(300)}),
         "256"),
        ("output_event_types", pb.ServiceInfo(output_event_types=["e"] * 65), "64"),
        ("metadata key", pb.ServiceInfo(metadata={"k" * 2000: ""}), "1024"),
    ],
)  # fmt: skip
async def test_counts_and_lengths_past_a_limit_are_refused_naming_it(
    tmp_path: Path, field: str, info: pb.ServiceInfo | pb.ServiceHeartbeat, limit: str
) -> None:
    method = HEARTBEAT if isinstance(info, pb.ServiceHeartbeat) else REGISTER
    async with served(tmp_path) as plane:
        message = await plane.refused_while_others_are_answered(
            method, bytes(info), grpc.StatusCode.INVALID_ARGUMENT
        )
    assert message.startswith(field) and limit in message, message


async def test_a_fifty_megabyte_message_is_refused_before_it_is_read(tmp_path: Path) -> None:
    info = bytes(pb.ServiceInfo(service_type=1, health_endpoint="h" * (50 << 20)))
    async with served(tmp_path) as plane:
        message = await plane.refused_while_others_are_answered(
            REGISTER, info, grpc.StatusCode.RESOURCE_EXHAUSTED
        )
        rss = psutil.Process(plane.server.process.pid).memory_info().rss
    assert "over the limit of 4194304 bytes" in message
    # It was 380 MB when the message was read and stored; a generous bound, not a timing.
    assert rss < 150 * 1024 * 1024


# Bodies that do not decode as the contract's messages, each refused before the registry.
MALFORMED = {
    # service_type (an enum, varint) sent as length-delimited: it used to be stored, and
    # then broke `flowctl list` for good.
    "packed enum": bytes.fromhex("0a06706f69736f6e120101"),
    "random bytes": bytes.fromhex("ffffffff"),
    "invalid UTF-8": b"\x0a\x02\xff\xfe",
    "string as varint": b"\x08\x05",
    "length past the end": b"\x0a\x7fabc",
    "enum not an int32": b"\x10\x80\x80\x80\x80\x10",
    "a group": b"\x0b\x0c",
    "field number 0": b"\x00\x01",
    "truncated number": b"\x10\x80",
}


@pytest.mark.parametrize("name", MALFORMED)
async def test_a_request_that_does_not_decode_is_invalid_argument_and_not_stored(
    tmp_path: Path, name: str
) -> None:
    async with served(tmp_path) as plane:
        await plane.refused_while_others_are_answered(
            REGISTER, MALFORMED[name], grpc.StatusCode.INVALID_ARGUMENT
        )
        for output in ("table", "json"):
            status, out, err = await run_flowctl(
                ["list", "--endpoint", plane.endpoint, "--output", output], cwd=tmp_path
            )
            assert status == 0 and "well-behaved" in out, err


async def test_a_heartbeat_with_a_timestamp_no_datetime_holds_is_refused(tmp_path: Path) -> None:
    seconds = (1 << 62).to_bytes(8, "little")  # far beyond year 9999
    timestamp = b"\x08" + varint(int.from_bytes(seconds, "little"))
    body = b"\x0a\x0cwell-behaved" + b"\x12" + bytes([len(timestamp)]) + timestamp
    async with served(tmp_path) as plane:
        await plane.ordinary_calls("well-behaved")
        answer = await plane.client.call(HEARTBEAT, body)
    assert answer.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "timestamp" in answer.details


async def test_unknown_fields_and_an_unnamed_enum_are_still_accepted_and_echoed(
    tmp_path: Path,
) -> None:
    # service_type 4 (no name in this revision) and an unknown field 99 (a string).
    body = b"\x0a\x03new\x10\x04" + b"\x9a\x06\x05extra"
    async with served(tmp_path) as plane:
        answer = await plane.client.call(REGISTER, body)
        assert answer.code == grpc.StatusCode.OK, answer
        [status] = await plane.services()
    assert (status.service_id, int(status.service_type)) == ("new", 4)


async def test_a_request_whose_deadline_has_passed_is_deadline_exceeded(tmp_path: Path) -> None:
    body = bytes(pb.ServiceInfo(service_id="late", service_type=1))
    async with served(tmp_path) as plane:
        for timeout in ("1n", "1u", "0n"):
            response = await trio.to_thread.run_sync(
                http2_call,
                plane.endpoint,
                REGISTER,
                body,
                {"grpc-timeout": timeout},
            )
            assert response.grpc_status == str(grpc.StatusCode.DEADLINE_EXCEEDED.value[0])
            assert response.headers.get("content-type", "").startswith("application/grpc")
