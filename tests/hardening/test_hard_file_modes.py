"""The standalone server's registry is private: the file and its WAL 0600, the folders
flowctl creates 0700, and a ~/.flowctl that was left open is tightened. A folder the user
chose and flowctl did not create is left as it is."""

from __future__ import annotations

import os
import signal
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio
from cli.cli_helpers import FlowctlProcess, cli_env, start_flowctl
from hard_helpers import REGISTER, raw_client

from flowctl._proto import flowctl as pb


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    """The common 022: without flowctl's care, files would be 0644 and folders 0755."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


async def _register_and_check_while_serving(server: FlowctlProcess, db: Path) -> None:
    endpoint = await server.endpoint()
    with raw_client(endpoint) as client:
        answer = await client.call(REGISTER, bytes(pb.ServiceInfo(service_id="a")))
        assert answer.code.name == "OK"
    # While the server runs, its writes sit in the WAL (and the -shm, if SQLite made one).
    companions = [Path(f"{db}{suffix}") for suffix in ("-wal", "-shm", "-journal")]
    assert Path(f"{db}-wal").exists()
    assert {p.name: mode(p) for p in companions if p.exists()} == {
        p.name: 0o600 for p in companions if p.exists()
    }
    assert mode(db) == 0o600


async def _stop(server: FlowctlProcess) -> None:
    server.send_signal(signal.SIGTERM)
    assert await server.wait() == 0, server.output


async def _serve_once_with_db_path(tmp_path: Path, db: Path) -> None:
    """A server on `db`, checked while it serves a registration, then stopped."""
    async with trio.open_nursery() as nursery:
        server = await start_flowctl(
            nursery, ["server", "--port", "0", "--db-path", str(db)], cwd=tmp_path
        )
        await _register_and_check_while_serving(server, db)
        await _stop(server)


async def test_a_new_registry_and_every_folder_made_for_it_are_private(tmp_path: Path) -> None:
    db = tmp_path / "made" / "by" / "flowctl" / "registry.sqlite3"
    await _serve_once_with_db_path(tmp_path, db)
    assert mode(db) == 0o600
    for folder in (tmp_path / "made", tmp_path / "made" / "by", db.parent):
        assert mode(folder) == 0o700, folder


async def test_a_folder_the_user_made_is_left_as_it_is(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    db = shared / "registry.sqlite3"
    await _serve_once_with_db_path(tmp_path, db)
    assert mode(shared) == 0o755
    assert mode(db) == 0o600


async def test_an_open_flowctl_home_is_tightened(tmp_path: Path, isolated_home: Path) -> None:
    folder = isolated_home / ".flowctl"
    folder.mkdir(mode=0o755)  # as an older flowctl, or a hand, left it
    db = folder / "registry.sqlite3"
    async with trio.open_nursery() as nursery:
        server = await start_flowctl(
            nursery, ["server", "--port", "0"], cwd=tmp_path, env=cli_env(HOME=str(isolated_home))
        )
        await _register_and_check_while_serving(server, db)
        assert mode(folder) == 0o700
        await _stop(server)
    assert mode(folder) == 0o700
    assert not [line for line in server.output.splitlines() if "private" in line], server.output
