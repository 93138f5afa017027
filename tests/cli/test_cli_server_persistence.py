"""`flowctl server` keeps its registry in a file: services registered before a restart are
listed after it and may go on heartbeating, since components never register again."""

from __future__ import annotations

import json
import re
import signal
import stat
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest
import trio
import trio_asyncio
from cli_helpers import FlowctlProcess, cli_env, run_flowctl, start_flowctl

from flowctl._proto import flowctl as pb
from flowctl.controlplane import open_stub

T = TypeVar("T")

# The janitor finds every reloaded service stale on its first pass, without waiting.
STALE_AT_ONCE = ("--heartbeat-ttl", "1ms", "--janitor-interval", "50ms")


async def call(endpoint: str, rpc: Callable[[pb.ControlPlaneStub], Awaitable[T]]) -> T:
    """One call with a grpclib client, as a component would make it."""

    async def on_asyncio() -> T:
        async with open_stub(endpoint) as stub:
            return await rpc(stub)

    async with trio_asyncio.open_loop():
        return await trio_asyncio.aio_as_trio(on_asyncio)()


async def listed(endpoint: str, cwd: Path) -> list[dict[str, object]]:
    status, out, err = await run_flowctl(
        ["list", "--endpoint", endpoint, "--output", "json"], cwd=cwd
    )
    assert status == 0, err
    return json.loads(out)["services"]


async def stop(server: FlowctlProcess) -> None:
    server.send_signal(signal.SIGTERM)
    assert await server.wait() == 0, server.output


async def test_services_registered_before_a_restart_are_listed_and_heartbeat_after_it(
    tmp_path: Path,
) -> None:
    db = tmp_path / "state" / "registry.sqlite3"
    async with trio.open_nursery() as nursery:
        first = await start_flowctl(
            nursery, ["server", "--port", "0", "--db-path", str(db)], cwd=tmp_path
        )
        await first.wait_for_line(r"registry: .* \(0 services reloaded\)")
        endpoint = await first.endpoint()
        unnamed = await call(endpoint, lambda stub: stub.register(pb.ServiceInfo(service_type=7)))
        source = await call(
            endpoint,
            lambda stub: stub.register(
                pb.ServiceInfo(service_type=pb.ServiceType.SOURCE, output_event_types=["a.b"])
            ),
        )
        await stop(first)

        second = await start_flowctl(
            nursery,
            [*("server", "--port", "0", "--db-path", str(db)), *STALE_AT_ONCE],
            cwd=tmp_path,
        )
        await second.wait_for_line(rf"registry: {re.escape(str(db))} \(2 services reloaded\)")
        endpoint = await second.endpoint()
        services = await listed(endpoint, tmp_path)
        assert [(s["serviceId"], s["serviceType"]) for s in services] == [
            (unnamed.service_id, 7),
            (source.service_id, "SERVICE_TYPE_SOURCE"),
        ]

        await second.wait_for_line(rf"{source.service_id} is unhealthy")
        # No NOT_FOUND: the id the first server issued is still known.
        await call(
            endpoint,
            lambda stub: stub.heartbeat(
                pb.ServiceHeartbeat(service_id=source.service_id, metrics={"total_processed": 5})
            ),
        )
        await second.wait_for_line(rf"{source.service_id} is healthy again")
        (revived,) = [
            s for s in await listed(endpoint, tmp_path) if s["serviceId"] == source.service_id
        ]
        assert revived["metrics"] == {"total_processed": 5.0}
        await stop(second)
        assert "Traceback" not in first.output + second.output


async def test_the_default_file_is_under_home_in_a_private_folder(
    tmp_path: Path, isolated_home: Path
) -> None:
    home = isolated_home  # HOME of every test (tests/conftest.py)
    async with trio.open_nursery() as nursery:
        server = await start_flowctl(
            nursery, ["server", "--port", "0"], cwd=tmp_path, env=cli_env(HOME=str(home))
        )
        expected = home / ".flowctl" / "registry.sqlite3"
        await server.wait_for_line(rf"registry: {re.escape(str(expected))} \(0 services reloaded\)")
        await server.endpoint()
        await stop(server)
    assert expected.is_file()
    assert stat.S_IMODE(expected.parent.stat().st_mode) == 0o700


async def test_no_persistence_keeps_the_registry_in_memory_and_writes_no_file(
    tmp_path: Path, isolated_home: Path
) -> None:
    home = isolated_home  # HOME of every test (tests/conftest.py)
    async with trio.open_nursery() as nursery:
        server = await start_flowctl(
            nursery,
            ["server", "--port", "0", "--no-persistence"],
            cwd=tmp_path,
            env=cli_env(HOME=str(home)),
        )
        await server.wait_for_line("registry: in memory")
        endpoint = await server.endpoint()
        await call(endpoint, lambda stub: stub.register(pb.ServiceInfo(service_type=1)))
        await stop(server)
    assert list(home.iterdir()) == []
    assert not [p for p in tmp_path.rglob("*") if "sqlite" in p.name]


async def test_a_second_server_on_the_same_file_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "registry.sqlite3"
    async with trio.open_nursery() as nursery:
        first = await start_flowctl(
            nursery, ["server", "--port", "0", "--db-path", str(db)], cwd=tmp_path
        )
        await first.endpoint()
        status, out, err = await run_flowctl(
            ["server", "--port", "0", "--db-path", str(db)], cwd=tmp_path
        )
        assert status == 1, out
        assert err.strip() == (
            f"flowctl: error: cannot use the registry file {db}: in use by another process "
            "(is another flowctl server running on it?)"
        )
        await stop(first)


def _folder(tmp_path: Path) -> Path:
    return tmp_path


def _corrupt(tmp_path: Path) -> Path:
    path = tmp_path / "registry.sqlite3"
    path.write_bytes(b"not sqlite\n" * 500)
    return path


@pytest.mark.parametrize(
    ("make", "reason"),
    [(_folder, "it is a folder"), (_corrupt, "not a flowctl registry (not an SQLite file)")],
    ids=["folder", "corrupt"],
)
async def test_a_bad_db_path_exits_1_with_one_line(
    tmp_path: Path, make: Callable[[Path], Path], reason: str
) -> None:
    path = make(tmp_path)
    status, out, err = await run_flowctl(
        ["server", "--port", "0", "--db-path", str(path)], cwd=tmp_path
    )
    assert status == 1
    assert err.splitlines() == [f"flowctl: error: cannot use the registry file {path}: {reason}"]
    assert "Traceback" not in out + err
    assert "listening" not in out + err


async def test_db_path_and_no_persistence_together_is_a_usage_error(tmp_path: Path) -> None:
    status, out, err = await run_flowctl(
        ["server", "--db-path", str(tmp_path / "r.sqlite3"), "--no-persistence"], cwd=tmp_path
    )
    assert status == 2
    assert "--db-path and --no-persistence" in err and "Traceback" not in out + err
    assert not (tmp_path / "r.sqlite3").exists()
