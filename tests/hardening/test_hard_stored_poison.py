"""A registration that does not decode, stored by a flowctl from before requests were
checked, is dropped when the registry is reloaded, instead of breaking every list."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import trio
from cli.cli_helpers import run_flowctl, start_flowctl

from flowctl._proto import flowctl as pb
from flowctl.controlplane import ServiceRegistry, SqliteStorage

PACKED_ENUM = bytes.fromhex("0a06706f69736f6e120101")  # service_type sent as bytes


def registry_with_a_poisoned_row(path: Path) -> None:
    with SqliteStorage(path) as storage:
        registry = ServiceRegistry(storage=storage)
        registry.register(pb.ServiceInfo(service_id="good", service_type=pb.ServiceType.SINK))
        registry.register(pb.ServiceInfo(service_id="poison", service_type=1))
        # What an older flowctl stored for such a request (the file is the storage's alone
        # while it is open, so through its connection).
        storage._connection.execute(
            "UPDATE services SET info = ? WHERE service_id = 'poison'", (PACKED_ENUM,)
        )


async def test_a_stored_registration_that_does_not_decode_is_dropped_with_a_warning(
    tmp_path: Path,
) -> None:
    db = tmp_path / "registry.sqlite3"
    registry_with_a_poisoned_row(db)
    async with trio.open_nursery() as nursery:
        server = await start_flowctl(
            nursery, ["server", "--port", "0", "--db-path", str(db)], cwd=tmp_path
        )
        await server.wait_for_line(
            r"dropped service poison: its stored registration does not decode"
        )
        await server.wait_for_line(r"\(1 service reloaded\)")
        endpoint = await server.endpoint()
        for output in ("table", "json"):
            status, out, err = await run_flowctl(
                ["list", "--endpoint", endpoint, "--output", output], cwd=tmp_path
            )
            assert status == 0, err
            assert "good" in out and "poison" not in out
        server.send_signal()
        assert await server.wait() == 0, server.output
    assert "Traceback" not in server.output
    with closing(sqlite3.connect(db)) as connection:
        rows = connection.execute("SELECT service_id FROM services").fetchall()
    assert rows == [("good",)]
