"""What asyncio, grpclib and h2 log through the standard library goes through flowctl's
own log output: with --log-format json every line is one JSON object, in text every line
has flowctl's layout; a client that drops connections with calls in flight makes asyncio
say `socket.send() raised exception.`, which is routine: shown at debug level only."""

from __future__ import annotations

import json
import re
import signal
from collections.abc import Callable
from pathlib import Path

import pytest
import trio
from cli.cli_helpers import start_flowctl
from hard_helpers import drop_with_calls_in_flight

ASYNCIO_CHATTER = "socket.send() raised exception."
TEXT_LINE = re.compile(r"^\d\d:\d\d:\d\d\.\d{3} flowctl +\| ")


def _is_json_object(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


def _is_text_line(line: str) -> bool:
    return TEXT_LINE.match(line) is not None


@pytest.mark.parametrize(
    ("log_format", "well_formed"),
    [("json", _is_json_object), ("text", _is_text_line)],
)
async def test_dropped_connections_leave_no_bare_lines(
    tmp_path: Path, log_format: str, well_formed: Callable[[str], bool]
) -> None:
    async with trio.open_nursery() as nursery:
        server = await start_flowctl(
            nursery,
            [
                *("server", "--no-persistence", "--port", "0"),
                *("--log-format", log_format, "--log-level", "debug"),
            ],
            cwd=tmp_path,
        )
        port = int((await server.wait_for_line(r"listening on \S+:(\d+)")).group(1))
        # Until asyncio has said it (in any form): dropping is a race with the answers.
        with trio.fail_after(60):
            while ASYNCIO_CHATTER not in server.output:
                await trio.to_thread.run_sync(drop_with_calls_in_flight, port)
        said = [line for line in server.output.splitlines() if ASYNCIO_CHATTER in line]
        server.send_signal(signal.SIGTERM)
        assert await server.wait() == 0, server.output

    assert all(well_formed(line) for line in said), said[:3]
    assert all("debug" in line.lower() for line in said), said[:3]
    bare = [line for line in server.stdout + server.stderr if not well_formed(line)]
    assert not bare, bare[:5]


async def test_asyncio_chatter_is_not_shown_at_the_default_level(tmp_path: Path) -> None:
    async with trio.open_nursery() as nursery:
        server = await start_flowctl(
            nursery, ["server", "--no-persistence", "--port", "0"], cwd=tmp_path
        )
        port = int((await server.wait_for_line(r"listening on \S+:(\d+)")).group(1))
        for _ in range(20):
            await trio.to_thread.run_sync(drop_with_calls_in_flight, port)
        server.send_signal(signal.SIGTERM)
        assert await server.wait() == 0, server.output
    assert ASYNCIO_CHATTER not in server.output
    assert all(_is_text_line(line) for line in server.stdout + server.stderr), server.output
